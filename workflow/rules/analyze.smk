rule analyze:
    input:
        run=analysis_input,
    output:
        "results/{exp}/analysis/{job}.nc",
    log:
        "results/{exp}/logs/analyze/{job}.log",
    benchmark:
        "results/{exp}/benchmarks/analyze/{job}.tsv"
    # seconds-long jobs: a cluster runs them in bundles (group-components in profiles/slurm)
    group:
        "analyze"
    conda:
        "../envs/einet.yaml"
    threads: 1
    resources:
        mem_mb=4000,
        runtime=60,
        slurm_extra=slurm_nice(0),
    shell:
        "python -m einet --log {log:q} analyze {input.run:q} --out {output:q}"


rule collect:
    input:
        experiment_analyses,
    output:
        "results/{exp}/summary.nc",
    log:
        "results/{exp}/logs/collect.log",
    benchmark:
        "results/{exp}/benchmarks/collect.tsv"
    # reads the analyses and writes one small file: runs where Snakemake runs, also on a cluster
    localrule: True
    conda:
        "../envs/einet.yaml"
    threads: 1
    resources:
        mem_mb=4000,
        runtime=30,
    shell:
        "python -m einet --log {log:q} collect {input:q} --out {output:q}"
