# Stage conditions: the eval pool re-synthesised per test condition, then split, instances,
# attribution and evaluation under results/conditions/{condition}/ with the run's models
# (never retrained), and one comparison across conditions. Each rule is its main-chain
# rule with the condition's paths; the scripts are the main chain's.


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


use rule synthesize as synthesize_condition with:
    input:
        soundbank=condition_soundbank_dir,
    output:
        directory("results/conditions/{condition}/synthesis/{pool}/chunk_{chunk}"),
    log:
        "results/logs/conditions/{condition}/synthesize/{pool}_{chunk}.log",
    benchmark:
        "results/benchmarks/conditions/{condition}/synthesize/{pool}_{chunk}.tsv"
    params:
        settings=condition_synthesis,


# Snakemake cannot inherit a checkpoint (snakemake#2530): this is rule split's body with
# the condition's eval pool; the train pool is main's, so the split script is unchanged.
checkpoint split_condition:
    input:
        train=chunk_dirs("train"),
        evalpool=lambda wildcards: condition_chunk_dirs(wildcards.condition),
    output:
        manifest="results/conditions/{condition}/split/manifest.tsv",
        events="results/conditions/{condition}/split/events.tsv",
        summary="results/conditions/{condition}/split/summary.json",
    log:
        "results/logs/conditions/{condition}/split.log",
    benchmark:
        "results/benchmarks/conditions/{condition}/split.tsv"
    conda:
        "../envs/synthesis.yaml"
    threads: 1
    resources:
        mem_mb=2000,
        runtime=30,
    params:
        max_polyphony=config["split"]["max_polyphony"],
        seed=config["split"]["seed"],
        code=code_version("split.py"),
    script:
        "../workflow/scripts/split.py"


use rule cache_features as cache_features_condition with:
    input:
        manifest="results/conditions/{condition}/split/manifest.tsv",
        events="results/conditions/{condition}/split/events.tsv",
        backbone="results/models/backbone.pt",
    output:
        "results/conditions/{condition}/features/{split}.h5",
    log:
        "results/logs/conditions/{condition}/cache_features/{split}.log",
    benchmark:
        "results/benchmarks/conditions/{condition}/cache_features/{split}.tsv"


use rule classify as classify_condition with:
    input:
        val="results/conditions/{condition}/features/val.h5",
        test="results/conditions/{condition}/features/test.h5",
        backbone="results/models/backbone.pt",
        head="results/models/head_clip.pt",
    output:
        probabilities_val="results/conditions/{condition}/classify/probabilities_val.tsv",
        probabilities_test="results/conditions/{condition}/classify/probabilities_test.tsv",
    log:
        "results/logs/conditions/{condition}/classify.log",
    benchmark:
        "results/benchmarks/conditions/{condition}/classify.tsv"


use rule table1 as table1_condition with:
    input:
        test="results/conditions/{condition}/features/test.h5",
        backbone="results/models/backbone.pt",
        head="results/models/head_clip.pt",
    output:
        table_csv="results/conditions/{condition}/tables/table1.csv",
        table_md="results/conditions/{condition}/tables/table1.md",
    log:
        "results/logs/conditions/{condition}/table1.log",
    benchmark:
        "results/benchmarks/conditions/{condition}/table1.tsv"


use rule instances as instances_condition with:
    input:
        probabilities="results/conditions/{condition}/classify/probabilities_{eval_split}.tsv",
        manifest="results/conditions/{condition}/split/manifest.tsv",
        events="results/conditions/{condition}/split/events.tsv",
    output:
        "results/conditions/{condition}/attribution/instances_{eval_split}.tsv",
    log:
        "results/logs/conditions/{condition}/instances/{eval_split}.log",
    benchmark:
        "results/benchmarks/conditions/{condition}/instances/{eval_split}.tsv"


use rule attribute as attribute_condition with:
    input:
        unpack(attribute_inputs),
    output:
        "results/conditions/{condition}/attribution/{method}/{eval_split}/{shard}.h5",
    log:
        "results/logs/conditions/{condition}/attribute/{method}/{eval_split}/{shard}.log",
    benchmark:
        "results/benchmarks/conditions/{condition}/attribute/{method}/{eval_split}/{shard}.tsv"
    params:
        # Figure 2 and its signed attributions are main's.
        signed_clips=[],


use rule evaluate as evaluate_condition with:
    input:
        **run_model_files(),
        instances_val="results/conditions/{condition}/attribution/instances_val.tsv",
        instances_test="results/conditions/{condition}/attribution/instances_test.tsv",
        events="results/conditions/{condition}/split/events.tsv",
        shards=all_shard_files,
    output:
        table2_csv="results/conditions/{condition}/evaluation/table2.csv",
        table2_md="results/conditions/{condition}/evaluation/table2.md",
        table3_csv="results/conditions/{condition}/evaluation/table3.csv",
        table3_md="results/conditions/{condition}/evaluation/table3.md",
        table3_long="results/conditions/{condition}/evaluation/table3_long.csv",
        sweep_val="results/conditions/{condition}/evaluation/sweep_val.csv",
        sweep_test="results/conditions/{condition}/evaluation/sweep_test.csv",
        instances="results/conditions/{condition}/evaluation/instances_test.csv",
        tau_star="results/conditions/{condition}/evaluation/tau_star.json",
        convergence="results/conditions/{condition}/evaluation/convergence.json",
    log:
        "results/logs/conditions/{condition}/evaluate.log",
    benchmark:
        "results/benchmarks/conditions/{condition}/evaluate.tsv"


# Faithfulness and sanity are main's: they ask what the model uses, not how the data sound.
use rule statistics as statistics_condition with:
    input:
        instances="results/conditions/{condition}/evaluation/instances_test.csv",
        manifest="results/conditions/{condition}/split/manifest.tsv",
        faithfulness=[],
    output:
        intervals="results/conditions/{condition}/evaluation/intervals.csv",
        differences="results/conditions/{condition}/evaluation/differences.csv",
    log:
        "results/logs/conditions/{condition}/statistics.log",
    benchmark:
        "results/benchmarks/conditions/{condition}/statistics.tsv"


rule conditions:
    input:
        unpack(condition_results),
    output:
        table_csv=CONDITION_OUTPUTS[0],
        table_md=report(
            CONDITION_OUTPUTS[1],
            caption="../workflow/report/conditions.rst",
            category="5. Test conditions",
        ),
        figures=report(
            figure_paths(["conditions"]),
            caption="../workflow/report/conditions.rst",
            category="5. Test conditions",
        ),
    log:
        "results/logs/conditions/conditions.log",
    benchmark:
        "results/benchmarks/conditions/conditions.tsv"
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
