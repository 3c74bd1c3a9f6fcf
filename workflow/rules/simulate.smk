# One expansion job per experiment writes every job's config: the experiment is
# expanded and checked once, so the cost grows linearly with the number of jobs.
# These jobs are cheap and run where Snakemake runs (localrule), also on a cluster.
for _exp, _experiment in EXPERIMENTS.items():

    rule:
        name:
            f"expand_{_exp.replace('-', '_')}"
        input:
            experiment=f"config/experiments/{_exp}.yaml",
            external=_experiment.external_files(),
        output:
            job_config_paths(_exp, _experiment),
        log:
            f"results/{_exp}/logs/expand.log",
        benchmark:
            f"results/{_exp}/benchmarks/expand.tsv"
        localrule: True
        conda:
            "../envs/einet.yaml"
        threads: 1
        resources:
            mem_mb=1000,
            runtime=5,
        params:
            scale=scale_flag(),
            configs=configs_directory,
        shell:
            "python -m einet --log {log:q} expand {input.experiment:q} {params.scale} --schema-only --out {params.configs:q}"


rule simulate:
    input:
        config=JOB_CONFIG,
        external=external_inputs,
    output:
        "results/{exp}/runs/{job}.nc",
    log:
        "results/{exp}/logs/simulate/{job}.log",
    benchmark:
        "results/{exp}/benchmarks/simulate/{job}.tsv"
    conda:
        "../envs/einet.yaml"
    threads: simulation_threads
    resources:
        mem_mb=job_memory_mb,
        runtime=240,
        gpu=gpu_request,
        slurm_extra=slurm_nice(0),
    shell:
        "python -m einet --log {log:q} simulate {input.config:q} --threads {threads} --out {output:q}"
