# Figures: PDF and PNG of each; the report shows the PNG only (one entry per figure), in its
# experiment's category. Labels give the report's table its columns; "figure" comes first
# because Snakemake's report turns a later label with two equally frequent values into a toggle.
# The caption ends with params.experiment: the experiment, scale, sweep and main parameters.
from einet.figures import experiment_caption


rule figure:
    input:
        summary=rules.collect.output[0],
    output:
        pdf="results/figures/{exp}-{figure}.pdf",
        png=report(
            "results/figures/{exp}-{figure}.png",
            caption="../report/figure.rst",
            category="{exp}",
            labels={
                "figure": "{figure}",
                "experiment": "{exp}",
                "scale": str(config.get("scale") or "none"),
            },
        ),
    log:
        "results/{exp}/logs/figure/{figure}.log",
    benchmark:
        "results/{exp}/benchmarks/figure/{figure}.tsv"
    # a few seconds of plotting: runs where Snakemake runs, also on a cluster
    localrule: True
    conda:
        "../envs/einet.yaml"
    threads: 1
    resources:
        mem_mb=2000,
        runtime=10,
    params:
        experiment=lambda wildcards: experiment_caption(EXPERIMENTS[wildcards.exp]),
    shell:
        "python -m einet --log {log:q} figure {wildcards.figure} {input.summary:q} --pdf {output.pdf:q} --png {output.png:q}"
