# Stage 4b: one shard per condition, model, method, split and `clips_per_shard` clips.


rule attribute:
    input:
        unpack(attribute_inputs),
    output:
        f"{RUN}/attribution/{{method}}/{{eval_split}}/{{shard}}.h5",
    log:
        "results/logs/attribute/{condition}/{model}/{method}/{eval_split}/{shard}.log",
    benchmark:
        "results/benchmarks/attribute/{condition}/{model}/{method}/{eval_split}/{shard}.tsv"
    group:
        "attribution"
    conda:
        "../envs/torch.yaml"
    threads: config["threads"]["attribute"]  # fixed, not --cores: docs/determinism.md
    resources:
        mem_mb=8000 if config["backbone"]["width"] > 0.5 else 2000,
        runtime=attribution_runtime,
        gpu=gpus(config["attribution"]["device"]),
    params:
        threads=config["threads"]["attribute"],
        clip_ids=shard_clip_ids,
        signed_clips=shard_signed_clips,
        method=lambda wildcards: method_params(wildcards.method),
        device=config["attribution"]["device"],
        code=code_version("attribute.py"),
    script:
        "../workflow/scripts/attribute.py"
