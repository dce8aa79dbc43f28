# igsed: can Integrated Gradients of a sound classifier tell when sound events happen?
# Run: snakemake --cores all   (see README.md)


configfile: "config.yaml"


include: "rules/common.smk"
include: "rules/soundbank.smk"
include: "rules/synthesis.smk"
include: "rules/models.smk"
include: "rules/attribution.smk"
include: "rules/evaluation.smk"


rule all:
    default_target: True
    input:
        default_targets(),
