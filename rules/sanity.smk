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
        # The flag threshold is the report's, the agreement seeds rule agreement's: changing
        # them re-runs no cascade.
        sanity={
            k: v
            for k, v in config["sanity"].items()
            if k not in ("flag_correlation", "agreement_seeds")
        },
        code=code_version("sanity.py"),
    script:
        "../workflow/scripts/sanity.py"


# The same method with the clip head retrained from other seeds, on the same instances: the
# seed agreement (CNN14 models, when sanity.agreement_seeds names any).
rule agreement:
    input:
        manifest=lambda wildcards: split_file(wildcards, "manifest.tsv"),
        instances=f"{RUN}/attribution/instances_test.tsv",
        backbone=f"{MODEL_DIR}/backbone.pt",
        heads=agreement_heads,
    output:
        f"{RUN}/sanity/agreement/{{method}}.csv",
    log:
        "results/logs/agreement/{condition}/{model}/{method}.log",
    benchmark:
        "results/benchmarks/agreement/{condition}/{model}/{method}.tsv"
    wildcard_constraints:
        model=alternatives(CNN14_MODELS),
    conda:
        "../envs/torch.yaml"
    threads: config["threads"]["sanity"]  # fixed, not --cores: docs/determinism.md
    resources:
        mem_mb=8000 if config["backbone"]["width"] > 0.5 else 2000,
        runtime=agreement_runtime,
        gpu=gpus(config["sanity"]["device"]),
    params:
        threads=config["threads"]["sanity"],
        method=lambda wildcards: method_params(wildcards.method),
        # The subset and device of the sanity checks, and the seeds: nothing else re-runs it.
        sanity={
            k: config["sanity"][k]
            for k in ("n_instances", "seed", "device", "agreement_seeds")
        },
        code=code_version("agreement.py"),
    script:
        "../workflow/scripts/agreement.py"
