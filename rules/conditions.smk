# Stage conditions: a test condition re-synthesises only the eval pool (the rules of
# rules/synthesis.smk with {condition}); split, instances, attribution and evaluation run
# on it with the run's models (never retrained) through the same rules as main, under
# results/{condition}/{model}/. Here: a condition's own soundbank and the comparison.


use rule soundbank as soundbank_condition with:
    output:
        directory("resources/soundbank/conditions/{condition}"),
    log:
        "results/logs/conditions/{condition}/soundbank.log",
    benchmark:
        "results/benchmarks/conditions/{condition}/soundbank.tsv"
    params:
        source=lambda wildcards: condition_soundbank(wildcards.condition).source,
        settings=lambda wildcards: condition_soundbank(wildcards.condition).settings,
        eval_only=True,
        folder_listing=lambda wildcards: folder_listing(
            condition_soundbank(wildcards.condition).settings.get("path")
        ),


# A condition of real recordings: its clips (10 s windows at 32 kHz) and strong labels
# become its split, in the formats of checkpoint split; no synthesis.
checkpoint split_recordings:
    input:
        unpack(recordings_annotations),
    output:
        clips=directory(f"{DATA}/clips"),
        manifest=f"{DATA}/split/manifest.tsv",
        events=f"{DATA}/split/events.tsv",
        summary=f"{DATA}/split/summary.json",
    log:
        "results/logs/split_recordings/{condition}.log",
    benchmark:
        "results/benchmarks/split_recordings/{condition}.tsv"
    wildcard_constraints:
        condition=alternatives(RECORDINGS_CONDITIONS),
    conda:
        "../envs/torch.yaml"
    threads: 1
    resources:
        mem_mb=4000,
        runtime=60,
    params:
        recordings=lambda wildcards: CONDITIONS[wildcards.condition]["recordings"],
        seed=config["split"]["seed"],
        folder_listing=lambda wildcards: folder_listing(
            CONDITIONS[wildcards.condition]["recordings"]["audio"]
        ),
        code=code_version("split_recordings.py"),
    script:
        "../workflow/scripts/split_recordings.py"


# One model's results across conditions, main first.
rule conditions:
    input:
        unpack(condition_results),
    output:
        table_csv=comparison_outputs("{model}")["table_csv"],
        table_md=report(
            comparison_outputs("{model}")["table_md"],
            caption="../workflow/report/conditions.rst",
            category="5. Test conditions",
            subcategory="{model}",
        ),
        figures=report(
            comparison_outputs("{model}")["figures"],
            caption="../workflow/report/conditions.rst",
            category="5. Test conditions",
            subcategory="{model}",
        ),
    log:
        "results/logs/conditions/{model}.log",
    benchmark:
        "results/benchmarks/conditions/{model}.tsv"
    conda:
        "../envs/analysis.yaml"
    threads: 1
    resources:
        mem_mb=2000,
        runtime=10,
    params:
        conditions=condition_descriptions(),
        methods=lambda wildcards: model_methods(wildcards.model),
        code=code_version("conditions.py"),
    script:
        "../workflow/scripts/conditions.py"
