# Stage 4a: the (clip, class) pairs to attribute, once for every method (paired comparisons).


rule instances:
    input:
        unpack(split_files),
        probabilities=f"{RUN}/classify/probabilities_{{eval_split}}.tsv",
    output:
        f"{RUN}/attribution/instances_{{eval_split}}.tsv",
    log:
        "results/logs/instances/{condition}/{model}/{eval_split}.log",
    benchmark:
        "results/benchmarks/instances/{condition}/{model}/{eval_split}.tsv"
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
