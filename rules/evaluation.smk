# Stage 5: metrics over all shards, the figures and the summary report.


rule evaluate:
    input:
        **run_model_files(),
        instances_val="results/attribution/instances_val.tsv",
        instances_test="results/attribution/instances_test.tsv",
        events="results/split/events.tsv",
        shards=all_shard_files,
    output:
        table2_csv="results/evaluation/table2.csv",
        table2_md=report(
            "results/evaluation/table2.md",
            caption="../workflow/report/table2.rst",
            category="3. Temporal detection",
        ),
        table3_csv="results/evaluation/table3.csv",
        table3_md=report(
            "results/evaluation/table3.md",
            caption="../workflow/report/table3.rst",
            category="3. Temporal detection",
        ),
        table3_long="results/evaluation/table3_long.csv",
        sweep_val="results/evaluation/sweep_val.csv",
        sweep_test="results/evaluation/sweep_test.csv",
        instances="results/evaluation/instances_test.csv",
        tau_star="results/evaluation/tau_star.json",
        convergence="results/evaluation/convergence.json",
    log:
        "results/logs/evaluate/evaluate.log",
    benchmark:
        "results/benchmarks/evaluate/evaluate.tsv"
    conda:
        "../envs/analysis.yaml"
    threads: 1
    resources:
        mem_mb=4000,
        runtime=30,
    params:
        expected=expected_clips,
        shards=shard_plan,
        methods={method: method_params(method) for method in RUN_METHODS},
        threshold=config["attribution"]["threshold"],
        # The intervals' settings are rule statistics' own: changing them re-runs only it.
        metrics={
            k: v
            for k, v in config["metrics"].items()
            if k not in ("bootstrap", "sed_view")
        },
        code=code_version("evaluate.py"),
    script:
        "../workflow/scripts/evaluate.py"


rule statistics:
    input:
        instances="results/evaluation/instances_test.csv",
        manifest="results/split/manifest.tsv",
        faithfulness=faithfulness_areas,
    output:
        intervals="results/evaluation/intervals.csv",
        differences="results/evaluation/differences.csv",
    log:
        "results/logs/statistics/statistics.log",
    benchmark:
        "results/benchmarks/statistics/statistics.tsv"
    conda:
        "../envs/analysis.yaml"
    threads: 1
    resources:
        mem_mb=2000,
        runtime=10,
    params:
        bootstrap=config["metrics"]["bootstrap"],
        code=code_version("statistics.py"),
    script:
        "../workflow/scripts/statistics.py"


rule sed_view:
    input:
        **run_model_files(),
        instances="results/attribution/instances_test.tsv",
        manifest="results/split/manifest.tsv",
        events="results/split/events.tsv",
        shards=test_shards,
    output:
        "results/evaluation/sed_view.csv",
    log:
        "results/logs/sed_view/sed_view.log",
    benchmark:
        "results/benchmarks/sed_view/sed_view.tsv"
    conda:
        "../envs/analysis.yaml"
    threads: 1
    resources:
        mem_mb=4000,
        runtime=30,
    params:
        shards=shard_plan,
        methods={method: method_params(method) for method in RUN_METHODS},
        sed_view=config["metrics"]["sed_view"],
        bootstrap=config["metrics"]["bootstrap"],
        code=code_version("sed_view.py"),
    script:
        "../workflow/scripts/sed_view.py"


rule figures:
    input:
        **run_model_files(),
        instances_val="results/attribution/instances_val.tsv",
        instances_test="results/attribution/instances_test.tsv",
        shards=test_shards,
        manifest="results/split/manifest.tsv",
        events="results/split/events.tsv",
        sweep_val="results/evaluation/sweep_val.csv",
        sweep_test="results/evaluation/sweep_test.csv",
        tau_star="results/evaluation/tau_star.json",
        table3="results/evaluation/table3.csv",
    output:
        report(
            figure_paths(FIGURES),
            caption="../workflow/report/figures.rst",
            category="4. Figures",
        ),
    log:
        "results/logs/figures/figures.log",
    benchmark:
        "results/benchmarks/figures/figures.tsv"
    conda:
        "../envs/analysis.yaml"
    threads: 1
    resources:
        mem_mb=2000,
        runtime=30,
    params:
        figure_clip=figure_clip,
        shards=shard_plan,
        methods={method: method_params(method) for method in RUN_METHODS},
        code=code_version("figures.py"),
    script:
        "../workflow/scripts/figures.py"


rule benchmark_figures:
    input:
        intervals="results/evaluation/intervals.csv",
        faithfulness=faithfulness_curves,
        sanity=sanity_files,
    output:
        report(
            figure_paths(BENCHMARK_FIGURES),
            caption="../workflow/report/benchmark_figures.rst",
            category="4. Figures",
        ),
    log:
        "results/logs/benchmark_figures/benchmark_figures.log",
    benchmark:
        "results/benchmarks/benchmark_figures/benchmark_figures.tsv"
    conda:
        "../envs/analysis.yaml"
    threads: 1
    resources:
        mem_mb=2000,
        runtime=10,
    params:
        methods=RUN_METHODS,
        flag_correlation=config["sanity"]["flag_correlation"],
        code=code_version("benchmark_figures.py"),
    script:
        "../workflow/scripts/benchmark_figures.py"


rule report:
    input:
        table1="results/tables/table1.csv",
        table2="results/evaluation/table2.csv",
        table3="results/evaluation/table3.csv",
        tau_star="results/evaluation/tau_star.json",
        convergence="results/evaluation/convergence.json",
        intervals="results/evaluation/intervals.csv",
        differences="results/evaluation/differences.csv",
        sed_view="results/evaluation/sed_view.csv",
        sanity=sanity_files,
        split_summary="results/split/summary.json",
        backbone_meta="results/models/backbone.json",
        conditions=[CONDITION_OUTPUTS[1]] if CONDITIONS else [],
        figures=figure_paths(
            FIGURES + BENCHMARK_FIGURES + (("conditions",) if CONDITIONS else ())
        ),
    output:
        summary=report(
            "results/report/summary.md",
            caption="../workflow/report/summary.rst",
            category="0. Summary",
        ),
        details=report(
            "results/report/details.md",
            caption="../workflow/report/details.rst",
            category="0. Summary",
        ),
    log:
        "results/logs/report/report.log",
    benchmark:
        "results/benchmarks/report/report.tsv"
    conda:
        "../envs/analysis.yaml"
    threads: 1
    resources:
        mem_mb=1000,
        runtime=10,
    params:
        config=config,
        code=code_version("report.py"),
    script:
        "../workflow/scripts/report.py"
