# Stage training: each cnn14 model's backbone, its feature cache, its three heads, Table I.


rule backbone:
    input:
        pretrain=pretrain_inputs,
    output:
        weights=f"{MODEL_DIR}/backbone.pt",
        meta=f"{MODEL_DIR}/backbone.json",
    log:
        "results/logs/backbone/{model}.log",
    benchmark:
        "results/benchmarks/backbone/{model}.tsv"
    wildcard_constraints:
        model=alternatives(CNN14_MODELS),
    # Before the CRNN's training when both wait for the cores: every CNN14 job waits on it.
    priority: 10
    conda:
        "../envs/torch.yaml"
    threads: config["threads"]["backbone"]  # fixed, not --cores: docs/determinism.md
    resources:
        mem_mb=8000,
        runtime=240,
        gpu=gpus(config["backbone"]["device"]),
    params:
        threads=config["threads"]["backbone"],
        pretrained=config["backbone"]["pretrained"],
        width=config["backbone"]["width"],
        device=config["backbone"]["device"],
        panns=config["backbone"].get("panns", {}),
        pretrain=config["backbone"]["pretrain"],
        downloads="resources/downloads",
        code=code_version("backbone.py"),
    script:
        "../workflow/scripts/backbone.py"


rule cache_features:
    input:
        unpack(split_files),
        backbone=f"{MODEL_DIR}/backbone.pt",
    output:
        f"{RUN}/features/{{split}}.h5",
    log:
        "results/logs/cache_features/{condition}/{model}/{split}.log",
    benchmark:
        "results/benchmarks/cache_features/{condition}/{model}/{split}.tsv"
    wildcard_constraints:
        model=alternatives(CNN14_MODELS),
    # Before the CRNN's training when both wait for the cores: every CNN14 job waits on it.
    priority: 10
    conda:
        "../envs/torch.yaml"
    threads: config["threads"]["cache_features"]  # fixed, not --cores: docs/determinism.md
    resources:
        mem_mb=4000,
        runtime=60,
        gpu=gpus(config["backbone"]["device"]),
    params:
        threads=config["threads"]["cache_features"],
        device=config["backbone"]["device"],
        batch_size=8,
        code=code_version("cache_features.py"),
    script:
        "../workflow/scripts/cache_features.py"


rule train_head:
    input:
        train=f"{MAIN_RUN}/features/train.h5",
        val=f"{MAIN_RUN}/features/val.h5",
        backbone=f"{MODEL_DIR}/backbone.pt",
    output:
        weights=f"{MODEL_DIR}/head_{{head}}.pt",
        log_table=f"{MODEL_DIR}/head_{{head}}.log.tsv",
    log:
        "results/logs/train_head/{model}/{head}.log",
    benchmark:
        "results/benchmarks/train_head/{model}/{head}.tsv"
    wildcard_constraints:
        model=alternatives(CNN14_MODELS),
    conda:
        "../envs/torch.yaml"
    threads: config["threads"]["train_head"]  # fixed, not --cores: docs/determinism.md
    resources:
        mem_mb=4000,
        runtime=60,
    params:
        threads=config["threads"]["train_head"],
        settings=config["heads"],
        code=code_version("train_head.py"),
    script:
        "../workflow/scripts/train_head.py"


# The clip head again from another seed of sanity.agreement_seeds (rule agreement reads it).
rule train_seed_head:
    input:
        train=f"{MAIN_RUN}/features/train.h5",
        val=f"{MAIN_RUN}/features/val.h5",
        backbone=f"{MODEL_DIR}/backbone.pt",
    output:
        weights=layout.seed_head_file("{model}", "{seed}"),
        log_table=layout.seed_head_file("{model}", "{seed}").replace(".pt", ".log.tsv"),
    log:
        "results/logs/train_seed_head/{model}/{seed}.log",
    benchmark:
        "results/benchmarks/train_seed_head/{model}/{seed}.tsv"
    wildcard_constraints:
        model=alternatives(CNN14_MODELS),
        seed=r"\d+",
    conda:
        "../envs/torch.yaml"
    threads: config["threads"]["train_head"]  # fixed, not --cores: docs/determinism.md
    resources:
        mem_mb=4000,
        runtime=60,
    params:
        threads=config["threads"]["train_head"],
        settings=config["heads"],  # heads.seed replaced by the {seed} wildcard
        code=code_version("train_seed_head.py"),
    script:
        "../workflow/scripts/train_seed_head.py"


rule classify:
    input:
        val=f"{RUN}/features/val.h5",
        test=f"{RUN}/features/test.h5",
        backbone=f"{MODEL_DIR}/backbone.pt",
        head=f"{MODEL_DIR}/head_clip.pt",
    output:
        probabilities_val=f"{RUN}/classify/probabilities_val.tsv",
        probabilities_test=f"{RUN}/classify/probabilities_test.tsv",
    log:
        "results/logs/classify/{condition}/{model}.log",
    benchmark:
        "results/benchmarks/classify/{condition}/{model}.tsv"
    wildcard_constraints:
        model=alternatives(CNN14_MODELS),
    conda:
        "../envs/torch.yaml"
    threads: config["threads"]["classify"]  # fixed, not --cores: docs/determinism.md
    resources:
        mem_mb=2000,
        runtime=30,
    params:
        threads=config["threads"]["classify"],
        code=code_version("classify.py"),
    script:
        "../workflow/scripts/classify.py"


# Table I apart from rule classify: its threshold (classify.threshold) is a param of this
# rule alone, which nothing but the report reads, so changing it re-runs no instance.
rule table1:
    input:
        test=f"{RUN}/features/test.h5",
        backbone=f"{MODEL_DIR}/backbone.pt",
        head=f"{MODEL_DIR}/head_clip.pt",
    output:
        table_csv=f"{RUN}/tables/table1.csv",
        table_md=report(
            f"{RUN}/tables/table1.md",
            caption="../workflow/report/table1.rst",
            category="2. Classification",
        ),
    log:
        "results/logs/table1/{condition}/{model}.log",
    benchmark:
        "results/benchmarks/table1/{condition}/{model}.tsv"
    wildcard_constraints:
        model=alternatives(CNN14_MODELS),
    conda:
        "../envs/torch.yaml"
    threads: config["threads"]["classify"]  # fixed, not --cores: docs/determinism.md
    resources:
        mem_mb=2000,
        runtime=30,
    params:
        threads=config["threads"]["classify"],
        threshold=config["classify"]["threshold"],
        code=code_version("table1.py"),
    script:
        "../workflow/scripts/table1.py"


# The models of every other kind (models:): one classifier file each, classified from audio.
rule train_crnn:
    input:
        manifest=layout.split_file(MAIN_CONDITION, "manifest.tsv"),
        events=layout.split_file(MAIN_CONDITION, "events.tsv"),
    output:
        weights=f"{MODEL_DIR}/classifier.pt",
        log_table=f"{MODEL_DIR}/classifier.log.tsv",
    log:
        "results/logs/train_crnn/{model}.log",
    benchmark:
        "results/benchmarks/train_crnn/{model}.tsv"
    wildcard_constraints:
        model=alternatives(models_of_kind("crnn")),
    conda:
        "../envs/torch.yaml"
    threads: config["threads"]["train_crnn"]  # fixed, not --cores: docs/determinism.md
    resources:
        mem_mb=8000,
        runtime=120,
    params:
        threads=config["threads"]["train_crnn"],
        shape=lambda wildcards: MODELS[wildcards.model].get("shape", {}),
        training=lambda wildcards: MODELS[wildcards.model].get("training", {}),
        code=code_version("train_crnn.py"),
    script:
        "../workflow/scripts/train_crnn.py"


rule register_model:
    output:
        f"{MODEL_DIR}/classifier.pt",
    log:
        "results/logs/register_model/{model}.log",
    benchmark:
        "results/benchmarks/register_model/{model}.tsv"
    wildcard_constraints:
        model=alternatives(models_of_kind("torchscript", "python")),
    conda:
        "../envs/torch.yaml"
    threads: 1
    resources:
        mem_mb=4000,
        runtime=10,
    params:
        spec=lambda wildcards: MODELS[wildcards.model],
        # The sha256 of the user's file (or entry point's source): a new one re-registers.
        digest=lambda wildcards: user_model_source_digest(wildcards.model),
        code=code_version("register_model.py"),
    script:
        "../workflow/scripts/register_model.py"


rule classify_audio:
    input:
        unpack(split_files),
        classifier=f"{MODEL_DIR}/classifier.pt",
    output:
        probabilities_val=f"{RUN}/classify/probabilities_val.tsv",
        probabilities_test=f"{RUN}/classify/probabilities_test.tsv",
    log:
        "results/logs/classify_audio/{condition}/{model}.log",
    benchmark:
        "results/benchmarks/classify_audio/{condition}/{model}.tsv"
    wildcard_constraints:
        model=alternatives(WAVEFORM_MODELS),
    conda:
        "../envs/torch.yaml"
    threads: config["threads"]["classify"]  # fixed, not --cores: docs/determinism.md
    resources:
        mem_mb=4000,
        runtime=60,
    params:
        threads=config["threads"]["classify"],
        device=config["attribution"]["device"],
        code=code_version("classify_audio.py"),
    script:
        "../workflow/scripts/classify_audio.py"


rule table1_audio:
    input:
        unpack(split_files),
        classifier=f"{MODEL_DIR}/classifier.pt",
    output:
        table_csv=f"{RUN}/tables/table1.csv",
        table_md=report(
            f"{RUN}/tables/table1.md",
            caption="../workflow/report/table1.rst",
            category="2. Classification",
        ),
    log:
        "results/logs/table1_audio/{condition}/{model}.log",
    benchmark:
        "results/benchmarks/table1_audio/{condition}/{model}.tsv"
    wildcard_constraints:
        model=alternatives(WAVEFORM_MODELS),
    conda:
        "../envs/torch.yaml"
    threads: config["threads"]["classify"]  # fixed, not --cores: docs/determinism.md
    resources:
        mem_mb=4000,
        runtime=60,
    params:
        threads=config["threads"]["classify"],
        threshold=config["classify"]["threshold"],
        code=code_version("table1_audio.py"),
    script:
        "../workflow/scripts/table1_audio.py"
