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
        methods=RUN_METHODS,
        code=code_version("conditions.py"),
    script:
        "../workflow/scripts/conditions.py"
