rule figure:
    input:
        summary=rules.collect.output[0],
    output:
        pdf=report(
            "results/figures/{exp}-{figure}.pdf",
            caption="../report/figure.rst",
            category="{exp}",
        ),
        png=report(
            "results/figures/{exp}-{figure}.png",
            caption="../report/figure.rst",
            category="{exp}",
        ),
    log:
        "results/{exp}/logs/figure/{figure}.log",
    benchmark:
        "results/{exp}/benchmarks/figure/{figure}.tsv"
    conda:
        "../envs/einet.yaml"
    threads: 1
    resources:
        mem_mb=2000,
        runtime=10,
    shell:
        "python -m einet --log {log:q} figure {wildcards.figure} {input.summary:q} --pdf {output.pdf:q} --png {output.png:q}"
