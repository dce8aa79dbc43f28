# Stage 5: metrics over all shards, the figures and the summary report.


rule evaluate:
    input:
        **MODEL_FILES,
        val=lambda wildcards: shard_files("val"),
        test=lambda wildcards: shard_files("test"),
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
        threshold=config["attribution"]["threshold"],
        metrics=config["metrics"],
        shard_settings=shard_settings(),
        code=code_version("evaluate.py"),
    script:
        "../workflow/scripts/evaluate.py"


rule figures:
    input:
        **MODEL_FILES,
        test=lambda wildcards: shard_files("test"),
        manifest="results/split/manifest.tsv",
        events="results/split/events.tsv",
        sweep_val="results/evaluation/sweep_val.csv",
        sweep_test="results/evaluation/sweep_test.csv",
        tau_star="results/evaluation/tau_star.json",
        table3="results/evaluation/table3.csv",
    output:
        report(
            figure_paths(),
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
        shard_settings=shard_settings(),
        code=code_version("figures.py"),
    script:
        "../workflow/scripts/figures.py"


rule report:
    input:
        table1="results/tables/table1.csv",
        table2="results/evaluation/table2.csv",
        table3="results/evaluation/table3.csv",
        tau_star="results/evaluation/tau_star.json",
        convergence="results/evaluation/convergence.json",
        split_summary="results/split/summary.json",
        backbone_meta="results/models/backbone.json",
        figures=figure_paths(),
    output:
        report(
            "results/report/summary.md",
            caption="../workflow/report/summary.rst",
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
