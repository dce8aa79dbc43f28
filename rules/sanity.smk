# Stage sanity: cascading model randomisation of the gradient and layer methods.


# The same method on a cascade of randomised models (gradient and layer methods), and its
# robustness on the trained model (random-logit, max-sensitivity) on the same instances.
rule sanity:
    input:
        unpack(explained_model_files),
        manifest=lambda wildcards: split_file(wildcards, "manifest.tsv"),
        instances=f"{RUN}/attribution/instances_test.tsv",
    output:
        table=f"{RUN}/sanity/{{method}}.csv",
        robustness=f"{RUN}/sanity/robustness/{{method}}.csv",
    log:
        "results/logs/sanity/{condition}/{model}/{method}.log",
    benchmark:
        "results/benchmarks/sanity/{condition}/{model}/{method}.tsv"
    conda:
        "../envs/torch.yaml"
    threads: config["threads"]["sanity"]  # fixed, not --cores: docs/determinism.md
    resources:
        mem_mb=8000 if config["backbone"]["width"] > 0.5 else 2000,
        runtime=sanity_runtime,
        gpu=gpus(config["sanity"]["device"]),
    params:
        threads=config["threads"]["sanity"],
        method=lambda wildcards: method_params(wildcards.method),
        # The flag threshold is the report's: changing it re-runs no cascade.
        sanity={k: v for k, v in config["sanity"].items() if k != "flag_correlation"},
        code=code_version("sanity.py"),
    script:
        "../workflow/scripts/sanity.py"
