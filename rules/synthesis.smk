# Stage 2: Scaper soundscapes per pool, then the polyphony filter and the val/test split.


# A test condition re-synthesises only its eval pool (its own soundbank or SNR, ...).
rule synthesize:
    input:
        soundbank=condition_soundbank_dir,
    output:
        directory(f"{DATA}/synthesis/{{pool}}/chunk_{{chunk}}"),
    log:
        "results/logs/synthesize/{condition}/{pool}_{chunk}.log",
    benchmark:
        "results/benchmarks/synthesize/{condition}/{pool}_{chunk}.tsv"
    conda:
        "../envs/synthesis.yaml"
    threads: 1
    resources:
        mem_mb=2000,
        runtime=60,
    params:
        seed=config["synthesis"]["seed"],
        n_clips=lambda wildcards: config["synthesis"]["n_clips"][wildcards.pool],
        chunks=config["synthesis"]["chunks"],
        settings=condition_synthesis,
        code=code_version("synthesize.py"),
    script:
        "../workflow/scripts/synthesize.py"


# Every condition's split: its eval pool beside main's train pool (the models' training data).
checkpoint split:
    input:
        train=chunk_dirs("train"),
        evalpool=evalpool_inputs,
    output:
        manifest=f"{DATA}/split/manifest.tsv",
        events=f"{DATA}/split/events.tsv",
        summary=report(
            f"{DATA}/split/summary.json",
            caption="../workflow/report/split.rst",
            category="1. Data",
        ),
    log:
        "results/logs/split/{condition}.log",
    benchmark:
        "results/benchmarks/split/{condition}.tsv"
    wildcard_constraints:
        condition=alternatives(SYNTHESISED_CONDITIONS),
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
