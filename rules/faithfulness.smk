# Stage 6: deletion and insertion curves of each method's test scores, with the clip classifier.


rule faithfulness:
    input:
        unpack(explained_model_files),
        manifest=lambda wildcards: split_file(wildcards, "manifest.tsv"),
        instances=f"{RUN}/attribution/instances_test.tsv",
        shards=method_test_shards,
    output:
        curves=f"{RUN}/faithfulness/{{method}}/curves.csv",
        areas=f"{RUN}/faithfulness/{{method}}/areas.csv",
    log:
        "results/logs/faithfulness/{condition}/{model}/{method}.log",
    benchmark:
        "results/benchmarks/faithfulness/{condition}/{model}/{method}.tsv"
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
