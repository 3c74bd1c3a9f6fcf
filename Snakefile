# einet: config expansion -> simulation -> analysis -> collection -> figures.
# Run `snakemake --cores 2` (profiles/default is picked up automatically) and
# `snakemake --report results/report.html` for the figures with captions.
from snakemake.utils import min_version, validate

min_version("9.0")


configfile: "config/config.yaml"


validate(config, "workflow/schemas/config.schema.yaml")


include: "workflow/rules/common.smk"
include: "workflow/rules/simulate.smk"
include: "workflow/rules/train.smk"
include: "workflow/rules/analyze.smk"
include: "workflow/rules/figures.smk"


rule all:
    default_target: True
    input:
        final_outputs(),
