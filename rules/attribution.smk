# Stage 4: one attribution shard per `clips_per_shard` clips of val and test.


rule attribute:
    input:
        **MODEL_FILES,
        manifest="results/split/manifest.tsv",
        events="results/split/events.tsv",
    output:
        "results/attribution/{eval_split}/{shard}.h5",
    log:
        "results/logs/attribute/{eval_split}/{shard}.log",
    benchmark:
        "results/benchmarks/attribute/{eval_split}/{shard}.tsv"
    group:
        "attribution"
    conda:
        "../envs/torch.yaml"
    threads: 1
    resources:
        mem_mb=8000 if config["backbone"]["width"] > 0.5 else 2000,
        runtime=attribution_runtime,
        gpu=gpus(config["attribution"]["device"]),
    params:
        clip_ids=lambda wildcards: split_shards(wildcards.eval_split)[wildcards.shard],
        signed_clips=shard_signed_clips,
        threshold=config["attribution"]["threshold"],
        random_seed=config["attribution"]["random_seed"],
        device=config["attribution"]["device"],
        ig=config["attribution"]["ig"],
        code=code_version("attribute.py"),
    script:
        "../workflow/scripts/attribute.py"
