# Stage 5: metrics over all shards of a condition and model, the figures and the report.


rule evaluate:
    input:
        unpack(run_model_files),
        unpack(split_files),
        instances_val=f"{RUN}/attribution/instances_val.tsv",
        instances_test=f"{RUN}/attribution/instances_test.tsv",
        shards=all_shard_files,
    output:
        table2_csv=f"{RUN}/evaluation/table2.csv",
        table2_md=report(
            f"{RUN}/evaluation/table2.md",
            caption="../workflow/report/table2.rst",
            category="3. Temporal detection",
            subcategory="{condition}, {model}",
        ),
        table3_csv=f"{RUN}/evaluation/table3.csv",
        table3_md=report(
            f"{RUN}/evaluation/table3.md",
            caption="../workflow/report/table3.rst",
            category="3. Temporal detection",
            subcategory="{condition}, {model}",
        ),
        table3_long=f"{RUN}/evaluation/table3_long.csv",
        sweep_val=f"{RUN}/evaluation/sweep_val.csv",
        sweep_test=f"{RUN}/evaluation/sweep_test.csv",
        instances=f"{RUN}/evaluation/instances_test.csv",
        tau_star=f"{RUN}/evaluation/tau_star.json",
        convergence=f"{RUN}/evaluation/convergence.json",
    log:
        "results/logs/evaluate/{condition}/{model}.log",
    benchmark:
        "results/benchmarks/evaluate/{condition}/{model}.tsv"
    conda:
        "../envs/analysis.yaml"
    threads: 1
    resources:
        mem_mb=4000,
        runtime=30,
    params:
        expected=expected_clips,
        shards=shard_plan,
        methods=methods_params,
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
        instances=f"{RUN}/evaluation/instances_test.csv",
        manifest=lambda wildcards: split_file(wildcards, "manifest.tsv"),
        faithfulness=condition_faithfulness_areas,
        robustness=condition_robustness,
        agreement=condition_agreement,
    output:
        intervals=f"{RUN}/evaluation/intervals.csv",
        differences=f"{RUN}/evaluation/differences.csv",
    log:
        "results/logs/statistics/{condition}/{model}.log",
    benchmark:
        "results/benchmarks/statistics/{condition}/{model}.tsv"
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
        unpack(run_model_files),
        unpack(split_files),
        instances=f"{RUN}/attribution/instances_test.tsv",
        shards=test_shards,
    output:
        table=f"{RUN}/evaluation/sed_view.csv",
        differences=f"{RUN}/evaluation/sed_view_differences.csv",
    log:
        "results/logs/sed_view/{condition}/{model}.log",
    benchmark:
        "results/benchmarks/sed_view/{condition}/{model}.tsv"
    conda:
        "../envs/analysis.yaml"
    threads: 1
    resources:
        mem_mb=4000,
        runtime=30,
    params:
        shards=shard_plan,
        methods=methods_params,
        sed_view=config["metrics"]["sed_view"],
        bootstrap=config["metrics"]["bootstrap"],
        code=code_version("sed_view.py"),
    script:
        "../workflow/scripts/sed_view.py"


# Figures 2 and 3 and the per-class heatmap of one model on main.
rule figures:
    input:
        unpack(run_model_files),
        unpack(split_files),
        instances_val=f"{MAIN_RUN}/attribution/instances_val.tsv",
        instances_test=f"{MAIN_RUN}/attribution/instances_test.tsv",
        shards=test_shards,
        sweep_val=f"{MAIN_RUN}/evaluation/sweep_val.csv",
        sweep_test=f"{MAIN_RUN}/evaluation/sweep_test.csv",
        tau_star=f"{MAIN_RUN}/evaluation/tau_star.json",
        table3=f"{MAIN_RUN}/evaluation/table3.csv",
    output:
        report(
            figure_paths(FIGURES, "{model}"),
            caption="../workflow/report/figures.rst",
            category="4. Figures",
            subcategory="{model}",
        ),
    log:
        "results/logs/figures/{model}.log",
    benchmark:
        "results/benchmarks/figures/{model}.tsv"
    conda:
        "../envs/analysis.yaml"
    threads: 1
    resources:
        mem_mb=2000,
        runtime=30,
    params:
        figure_clip=figure_clip,
        shards=shard_plan,
        methods=methods_params,
        code=code_version("figures.py"),
    script:
        "../workflow/scripts/figures.py"


rule benchmark_figures:
    input:
        intervals=f"{MAIN_RUN}/evaluation/intervals.csv",
        faithfulness=faithfulness_curves,
        sanity=sanity_files,
    output:
        report(
            figure_paths(BENCHMARK_FIGURES, "{model}"),
            caption="../workflow/report/benchmark_figures.rst",
            category="4. Figures",
            subcategory="{model}",
        ),
    log:
        "results/logs/benchmark_figures/{model}.log",
    benchmark:
        "results/benchmarks/benchmark_figures/{model}.tsv"
    conda:
        "../envs/analysis.yaml"
    threads: 1
    resources:
        mem_mb=2000,
        runtime=10,
    params:
        methods=lambda wildcards: model_methods(wildcards.model),
        flag_correlation=config["sanity"]["flag_correlation"],
        code=code_version("benchmark_figures.py"),
    script:
        "../workflow/scripts/benchmark_figures.py"


rule report:
    input:
        unpack(report_inputs),
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
        models_csv="results/report/models.csv",
        models_md="results/report/models.md",
        models_figures=report(
            ["results/report/models.png", "results/report/models.svg"],
            caption="../workflow/report/models.rst",
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
        models=MODEL_NAMES,
        skipped={model: skipped_methods(model) for model in MODEL_NAMES},
        code=code_version("report.py"),
    script:
        "../workflow/scripts/report.py"
