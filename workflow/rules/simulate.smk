rule expand_config:
    input:
        "config/experiments/{exp}.yaml",
    output:
        "results/{exp}/configs/{job}.yaml",
    log:
        "results/{exp}/logs/expand/{job}.log",
    benchmark:
        "results/{exp}/benchmarks/expand/{job}.tsv"
    conda:
        "../envs/einet.yaml"
    threads: 1
    resources:
        mem_mb=1000,
        runtime=5,
    params:
        scale=scale_flag(),
    shell:
        "python -m einet expand {input} {params.scale} --schema-only --job '{wildcards.job}' --out '{output}' > '{log}' 2>&1"


rule simulate:
    input:
        config=rules.expand_config.output[0],
    output:
        "results/{exp}/runs/{job}.nc",
    log:
        "results/{exp}/logs/simulate/{job}.log",
    benchmark:
        "results/{exp}/benchmarks/simulate/{job}.tsv"
    conda:
        "../envs/einet.yaml"
    threads: 2
    resources:
        mem_mb=8000,
        runtime=120,
    shell:
        "python -m einet simulate '{input.config}' --threads {threads} --out '{output}' > '{log}' 2>&1"
