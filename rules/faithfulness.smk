# Stage 6: deletion and insertion curves of each method's test scores, with the clip classifier.


rule faithfulness:
    input:
        backbone=MODEL_FILES["backbone"],
        clip_head=MODEL_FILES["clip_head"],
        manifest="results/split/manifest.tsv",
        instances="results/attribution/instances_test.tsv",
        shards=lambda wildcards: shard_files(wildcards.method, "test"),
    output:
        curves="results/faithfulness/{method}/curves.csv",
        areas="results/faithfulness/{method}/areas.csv",
    log:
        "results/logs/faithfulness/{method}.log",
    benchmark:
        "results/benchmarks/faithfulness/{method}.tsv"
    conda:
        "../envs/torch.yaml"
    threads: config["threads"]["faithfulness"]  # fixed, not --cores: docs/determinism.md
    resources:
        mem_mb=8000 if config["backbone"]["width"] > 0.5 else 2000,
        runtime=faithfulness_runtime,
        gpu=gpus(config["faithfulness"]["device"]),
    params:
        threads=config["threads"]["faithfulness"],
        method=lambda wildcards: method_params(wildcards.method),
        faithfulness=config["faithfulness"],
        code=code_version("faithfulness.py"),
    script:
        "../workflow/scripts/faithfulness.py"
