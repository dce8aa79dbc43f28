# Stage 4a: the (clip, class) pairs to attribute, once for every method (paired comparisons).


rule instances:
    input:
        probabilities="results/classify/probabilities_{eval_split}.tsv",
        manifest="results/split/manifest.tsv",
        events="results/split/events.tsv",
    output:
        "results/attribution/instances_{eval_split}.tsv",
    log:
        "results/logs/instances/{eval_split}.log",
    benchmark:
        "results/benchmarks/instances/{eval_split}.tsv"
    conda:
        "../envs/analysis.yaml"
    threads: 1
    resources:
        mem_mb=1000,
        runtime=10,
    params:
        threshold=config["attribution"]["threshold"],
        code=code_version("instances.py"),
    script:
        "../workflow/scripts/instances.py"
