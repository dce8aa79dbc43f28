# Stage 4: one attribution shard per `clips_per_shard` clips of val and test.


rule figure_clip:
    input:
        manifest="results/split/manifest.tsv",
        events="results/split/events.tsv",
    output:
        "results/split/figure_clip.json",
    log:
        "results/logs/figure_clip/figure_clip.log",
    benchmark:
        "results/benchmarks/figure_clip/figure_clip.tsv"
    conda:
        "../envs/analysis.yaml"
    threads: 1
    resources:
        mem_mb=1000,
        runtime=10,
    params:
        signed_clips=config["attribution"]["signed_clips"],
        code=code_version("figure_clip.py"),
    script:
        "../workflow/scripts/figure_clip.py"


rule attribute:
    input:
        manifest="results/split/manifest.tsv",
        events="results/split/events.tsv",
        figure_clip="results/split/figure_clip.json",
        backbone="results/models/backbone.pt",
        clip_head="results/models/head_clip.pt",
        fw_weak="results/models/head_fw_weak.pt",
        fw_strong="results/models/head_fw_strong.pt",
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
        threshold=config["attribution"]["threshold"],
        random_seed=config["attribution"]["random_seed"],
        device=config["attribution"]["device"],
        ig=config["attribution"]["ig"],
        code=code_version("attribute.py"),
    script:
        "../workflow/scripts/attribute.py"
