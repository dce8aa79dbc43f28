# igsed: can post-hoc attributions of a sound classifier tell when sound events happen?
# Run: snakemake --cores all   (see README.md)
import os

from snakemake.utils import min_version

min_version("9.0")


# The default config lives beside this file, so --directory elsewhere still finds it.
configfile: os.path.join(workflow.basedir, "config.yaml")


report: "workflow/report/workflow.rst"


include: "rules/common.smk"


wildcard_constraints:
    source="synthetic|desed|folder",
    pool="|".join(POOLS),
    chunk=r"\d+",
    split="train|val|test",
    eval_split="val|test",
    head="|".join(HEADS),
    shard=r"[A-Za-z0-9_\-]+",
    method="|".join(METHOD_INFO),
    condition="|".join(CONDITION_NAMES),
    model="|".join(MODEL_NAMES),


include: "rules/soundbank.smk"
include: "rules/synthesis.smk"
include: "rules/training.smk"
include: "rules/instances.smk"
include: "rules/attribution.smk"
include: "rules/sanity.smk"
include: "rules/faithfulness.smk"
include: "rules/evaluation.smk"
include: "rules/conditions.smk"


rule all:
    default_target: True
    input:
        default_targets(),
        every_shard,
