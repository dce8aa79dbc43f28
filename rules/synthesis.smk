# Stage 2: Scaper soundscapes per pool, then the polyphony filter and the val/test split.


rule synthesize:
    input:
        soundbank=SOUNDBANK,
    output:
        directory("results/synthesis/{pool}/chunk_{chunk}"),
    log:
        "results/logs/synthesize/{pool}_{chunk}.log",
    benchmark:
        "results/benchmarks/synthesize/{pool}_{chunk}.tsv"
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
        settings=synthesis_settings(config["synthesis"]),
        code=code_version("synthesize.py"),
    script:
        "../workflow/scripts/synthesize.py"


checkpoint split:
    input:
        train=chunk_dirs("train"),
        evalpool=chunk_dirs("evalpool"),
    output:
        manifest="results/split/manifest.tsv",
        events="results/split/events.tsv",
        summary=report(
            "results/split/summary.json",
            caption="../workflow/report/split.rst",
            category="1. Data",
        ),
    log:
        "results/logs/split/split.log",
    benchmark:
        "results/benchmarks/split/split.tsv"
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
