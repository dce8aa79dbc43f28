# Stage 1: the soundbank (foreground events and backgrounds in DESED's layout).


rule soundbank:
    output:
        directory("resources/soundbank/{source}"),
    params:
        settings=lambda wildcards: config["soundbank"].get(wildcards.source, {}),
        downloads="resources/downloads",
        code=code_version("soundbank", "download.py", "audio.py", "formats/atomic.py"),
    log:
        "results/logs/soundbank/{source}.log",
    benchmark:
        "results/benchmarks/soundbank/{source}.tsv"
    threads: 1
    resources:
        mem_mb=2000,
        runtime=120,
    conda:
        "../envs/synthesis.yaml"
    script:
        "../workflow/scripts/soundbank.py"
