rule train:
    input:
        config=rules.expand_config.output[0],
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
        "python -m einet train '{input.config}' --threads {threads} --out '{output.nc}' --model '{output.model}' > '{log}' 2>&1"
