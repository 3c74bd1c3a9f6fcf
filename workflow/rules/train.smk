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
    # trainings are the longest jobs: start them first so they overlap the many short ones
    priority: 10
    conda:
        "../envs/einet.yaml"
    threads: 1
    resources:
        mem_mb=4000,
        runtime=60,
        gpu=0,
    shell:
        "python -m einet --log {log:q} train {input.config:q} --threads {threads} --out {output.nc:q} --model {output.model:q}"
