# Stage 1: the soundbank (foreground events and backgrounds in DESED's layout).


rule soundbank:
    output:
        directory("resources/soundbank/{source}"),
    log:
        "results/logs/soundbank/{source}.log",
    benchmark:
        "results/benchmarks/soundbank/{source}.tsv"
    conda:
        "../envs/synthesis.yaml"
    threads: 1
    resources:
        mem_mb=2000,
        runtime=120,
    params:
        source=lambda wildcards: wildcards.source,
        settings=lambda wildcards: config["soundbank"].get(wildcards.source, {}),
        eval_only=False,
        downloads="resources/downloads",
        folder_listing=soundbank_listing,
        code=code_version("soundbank.py"),
    script:
        "../workflow/scripts/soundbank.py"
