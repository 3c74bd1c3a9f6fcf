rule train:
    input:
        config=JOB_CONFIG,
        external=external_inputs,
    output:
        nc="results/{exp}/trained/{job}.nc",
        model="results/{exp}/models/{job}.pt",
    log:
        "results/{exp}/logs/train/{job}.log",
    benchmark:
        "results/{exp}/benchmarks/train/{job}.tsv"
    priority: TRAIN_PRIORITY
    conda:
        "../envs/einet.yaml"
    threads: 1
    resources:
        mem_mb=job_memory_mb,
        runtime=480,
        gpu=gpu_request,
        slurm_extra=slurm_nice(TRAIN_PRIORITY),
    shell:
        "python -m einet --log {log:q} train {input.config:q} --threads {threads} --out {output.nc:q} --model {output.model:q}"
