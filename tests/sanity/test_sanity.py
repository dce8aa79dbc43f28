"""Rule sanity: Spearman, the seeded subset, fresh weights per level, the table end to end."""

from __future__ import annotations

import dataclasses
import logging
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch
import yaml
from scipy.stats import spearmanr
from support.audio_data import calibrated_backbone, write_dataset
from support.explained import one_torch_thread  # noqa: F401 - autouse fixture
from support.user_models import CRNN_CASCADE

from igsed.core.audio import load_clip
from igsed.core.checksums import file_digest
from igsed.core.constants import CLASSES
from igsed.core.ranks import spearman
from igsed.core.robustness import pairwise_agreement, spread
from igsed.formats.handover import seal
from igsed.formats.instances import Instance, read_instances, write_instances
from igsed.formats.sanity import (
    AGREEMENT_COLUMNS,
    CASCADE_LAYERS,
    ROBUSTNESS_COLUMNS,
    SANITY_COLUMNS,
    cascade_of,
    level_medians,
    read_agreement,
    read_robustness,
    read_sanity,
    write_agreement,
    write_robustness,
    write_sanity,
)
from igsed.methods.baselines import clip_seed_sequence
from igsed.methods.frames import frame_magnitude
from igsed.methods.registry import IMPLEMENTATIONS, method_settings
from igsed.models.classifier import ClassifierError
from igsed.models.cnn14 import load_backbone
from igsed.models.crnn import Crnn, CrnnShape
from igsed.models.explained import load_explained_model
from igsed.models.heads import make_head, save_head
from igsed.models.randomise import randomise_layer
from igsed.models.stored import load_classifier, register_user_model, save_crnn
from igsed.sanity.agreement import AgreementJob, agreement
from igsed.sanity.sanity import (
    SANITY_METHODS,
    SanityJob,
    SanitySettings,
    cascade_scores,
    clip_inputs,
    sanity,
    select_instances,
)

REPO = Path(__file__).resolve().parents[2]
SEED = 3
# Two instances on one clip, one alone, two on the last: the subset of 3 splits a clip.
INSTANCES = {"test_00000": (0, 3), "test_00001": (1,), "test_00002": (0, 2)}


# --- Spearman ---------------------------------------------------------------------------


def test_spearman_by_hand() -> None:
    assert spearman([1, 2, 3, 4], [10, 20, 30, 40]) == pytest.approx(1.0)
    assert spearman([1, 2, 3, 4], [4, 3, 2, 1]) == pytest.approx(-1.0)
    # Ranks (1, 2.5, 2.5, 4) and (1, 3, 2, 4): centred products 4.5 over sqrt(4.5 * 5).
    assert spearman([1, 2, 2, 3], [1, 3, 2, 4]) == pytest.approx(4.5 / np.sqrt(22.5))
    # Monotone transforms do not matter; only the order does.
    assert spearman([0.1, 5.0, 0.2], [1e-9, 1.0, 1e-8]) == pytest.approx(1.0)
    assert np.isnan(spearman([2, 2, 2], [1, 2, 3]))  # constant: undefined
    assert np.isnan(spearman([1, 2, 3], [0, 0, 0]))
    assert np.isnan(spearman([1.0], [2.0]))
    with pytest.raises(ValueError, match="1-D"):
        spearman([1, 2, 3], [1, 2])
    with pytest.raises(ValueError, match="finite"):
        spearman([1, np.nan, 3], [1, 2, 3])


@pytest.mark.parametrize("seed", range(5))
def test_spearman_matches_scipy(seed: int) -> None:
    rng = np.random.default_rng(seed)
    a = np.round(rng.standard_normal(100), 1)  # rounding makes ties
    b = np.round(a + rng.standard_normal(100), 1) if seed % 2 else rng.integers(0, 5, 100)
    assert spearman(a, b) == pytest.approx(spearmanr(a, b).statistic, abs=1e-12)


# --- Settings, method check and subset --------------------------------------------------


def test_settings_from_the_config_file() -> None:
    config = yaml.safe_load((REPO / "config.yaml").read_text(encoding="utf-8"))
    # The rule hands over the section without the report's flag threshold.
    section = {k: v for k, v in config["sanity"].items() if k != "flag_correlation"}
    assert SanitySettings.from_config(section) == SanitySettings(24, 0, "auto")
    with pytest.raises(ValueError, match="sanity"):
        SanitySettings.from_config({"n_instances": 2, "levels": 3})
    with pytest.raises(ValueError, match="n_instances"):
        SanitySettings(n_instances=0)


def test_subset_is_seeded_and_sorted() -> None:
    instances = [
        Instance(f"test_{clip:05d}", CLASSES[c], 0.9, True) for clip in range(6) for c in (4, 1)
    ]
    shuffled = [instances[i] for i in np.random.default_rng(1).permutation(len(instances))]
    chosen = select_instances(shuffled, 5, seed=11)
    ordered = sorted(instances, key=lambda i: (i.clip_id, i.class_name))
    expected = sorted(np.random.default_rng(11).choice(len(ordered), 5, replace=False))
    assert chosen == [ordered[i] for i in expected]
    assert chosen == select_instances(instances, 5, seed=11)
    assert chosen != select_instances(instances, 5, seed=12)
    assert select_instances(shuffled, 12, seed=11) == ordered
    assert select_instances(shuffled, 50, seed=11) == ordered


@pytest.mark.parametrize("method", ["occlusion", "surrogate", "fw_weak", "energy", "random"])
def test_a_method_without_gradients_is_refused(method: str, tmp_path: Path) -> None:
    assert SANITY_METHODS == (
        "ig",
        "saliency",
        "input_x_gradient",
        "smoothgrad",
        "gradient_shap",
        "gradcam",
        "logmel_ig",
        "logmel_saliency",
        "logmel_deeplift",
    )
    job = SanityJob(method, tmp_path / "m.tsv", {}, tmp_path / "i.tsv", tmp_path / "out.csv")
    with pytest.raises(ValueError, match=rf"'{method}'.*Allowed: ig, saliency, .*gradcam, logmel"):
        sanity(job, SanitySettings(device="cpu"), {})
    assert not job.out_path.exists()


# --- The table format -------------------------------------------------------------------


def _table(rhos: list[float]) -> pd.DataFrame:
    return pd.DataFrame(
        [
            (level, CASCADE_LAYERS[level - 1], f"test_{i:05d}", CLASSES[i], rho)
            for level in range(8, 0, -1)
            for i, rho in enumerate(rhos)
        ],
        columns=list(SANITY_COLUMNS),
    )


def _mixed_level() -> pd.DataFrame:
    """Two instances whose level 2 names different layers."""
    table = _table([0.5, 0.1])
    table.loc[(table["level"] == 2) & (table["class"] == CLASSES[1]), "layer"] = "gru"
    return table


def test_table_round_trip_and_errors(tmp_path: Path) -> None:
    path = tmp_path / "sanity.csv"
    write_sanity(path, _table([0.25, np.nan, -1.0]))
    assert pd.read_csv(path).columns.tolist() == list(SANITY_COLUMNS)
    table = read_sanity(path)
    assert table["level"].tolist() == [level for level in range(1, 9) for _ in range(3)]
    assert np.isnan(table["spearman"][1]) and table["spearman"][2] == -1.0
    medians = level_medians(table)
    assert medians.index.tolist() == list(range(1, 9))
    assert medians.tolist() == [pytest.approx(-0.375)] * 8  # NaN left out
    write_sanity(path, _table([]))
    assert read_sanity(path).empty and level_medians(read_sanity(path)).isna().all()
    bad = {
        "missing columns": _table([0.5]).drop(columns="layer"),
        r"layer 'conv_block1' is at levels \[2, 8\]": _table([0.5]).replace(
            {"layer": {"fc1": "conv_block1"}}
        ),
        r"level 2 names several layers: \['fc1', 'gru'\]": _mixed_level(),
        r"levels must run 1..9 without a gap, found \[1, 2, 3, 4, 5, 6, 7, 9\]": _table(
            [0.5]
        ).replace({"level": {8: 9}}),
        "levels must be integers from 1": _table([0.5]).replace({"level": {8: 0}}),
        r"\[-1, 1\]": _table([1.5]),
    }
    for message, frame in bad.items():
        frame.to_csv(path, index=False)
        seal(path)
        with pytest.raises(ValueError, match=rf"{path}.*{message}"):
            read_sanity(path)


# --- The cascade on a real (narrow, random) CNN14 ----------------------------------------


@pytest.fixture(scope="module")
def dataset(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """Three 10 s test clips, a calibrated width-1/16 CNN14 and a clip head, as files."""
    root = tmp_path_factory.mktemp("sanity")
    manifest, _, _ = write_dataset(root, {"test": 3, "val": 1}, seed=2)
    audio = [load_clip(path) for path in sorted((root / "audio").glob("*.wav"))]
    backbone = calibrated_backbone(root / "backbone.pt", audio)
    clip_head = root / "clip_head.pt"
    torch.manual_seed(0)
    head = make_head("clip", load_backbone(backbone), "max")
    save_head(head, clip_head, head="clip", backbone_sha256=file_digest(backbone), training={})
    instances = root / "instances_test.tsv"
    write_instances(
        instances,
        [Instance(c, CLASSES[i], 0.9, True) for c, classes in INSTANCES.items() for i in classes],
    )
    return {
        "manifest": manifest,
        "backbone": backbone,
        "clip_head": clip_head,
        "instances": instances,
    }


def _job(dataset: dict[str, Path], method: str, out_path: Path) -> SanityJob:
    models = {role: dataset[role] for role in ("backbone", "clip_head")}
    return SanityJob(method, dataset["manifest"], models, dataset["instances"], out_path)


def _plain_saliency(model: torch.nn.Module, waveform: np.ndarray, target: int) -> np.ndarray:
    """Mean |dF_c/dx| per frame by autograd through the model's own forward."""
    x = torch.from_numpy(waveform)[None].requires_grad_(True)
    model(x)[0, target].backward()
    return frame_magnitude(x.grad[0].abs().numpy())


@pytest.mark.parametrize("method", ["saliency", "ig"])
def test_each_level_attributes_its_own_randomised_model(
    dataset: dict[str, Path], method: str
) -> None:
    """The gradient methods cache an optimised network per model: no level may reuse the
    trained model's, and each must equal a fresh model randomised independently."""
    params = {"n_steps": 4, "internal_batch_size": 4} if method == "ig" else {}
    config = method_settings(method, params)
    model = load_explained_model(dataset["backbone"], dataset["clip_head"], "cpu")
    chosen = read_instances(dataset["instances"])[:2]  # one clip, two classes
    clips = clip_inputs(_job(dataset, method, Path("unused")), chosen)
    levels = (0, 1, 3, 8)
    by_level = cascade_scores(model, clips, method, config, SEED, levels)
    key = (chosen[0].clip_id, chosen[0].class_name)
    for level in levels[1:]:
        assert not np.allclose(by_level[level][key], by_level[0][key], rtol=1e-3)
        fresh = load_explained_model(dataset["backbone"], dataset["clip_head"], "cpu")
        for layer in reversed(CASCADE_LAYERS[:level]):
            randomise_layer(fresh, layer, SEED)
        expected = IMPLEMENTATIONS[method].compute(fresh, clips[0], config).scores
        if method == "saliency":  # also without the optimised network (folded BatchNorm)
            plain = [_plain_saliency(fresh, clips[0].waveform, t) for t in clips[0].targets]
            np.testing.assert_allclose(expected, plain, rtol=1e-4)
        for row, target in enumerate(clips[0].targets):
            np.testing.assert_allclose(by_level[level][(key[0], CLASSES[target])], expected[row])
    # The trained model is untouched: level 0 again gives level 0's scores.
    again = cascade_scores(model, clips, method, config, SEED, (0,))
    np.testing.assert_array_equal(again[0][key], by_level[0][key])


@pytest.mark.parametrize(
    ("method", "params"), [("saliency", {}), ("gradcam", {"layer": "conv_block4"})]
)
def test_the_job_writes_eight_levels_per_instance(
    dataset: dict[str, Path],
    method: str,
    params: dict,
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
) -> None:
    out_path = tmp_path / "sanity" / f"{method}.csv"
    settings = SanitySettings(n_instances=3, seed=SEED, device="cpu")
    with caplog.at_level(logging.INFO, logger="igsed.sanity.sanity"):
        summary = sanity(_job(dataset, method, out_path), settings, params)
    chosen = select_instances(read_instances(dataset["instances"]), 3, SEED)
    table = read_sanity(out_path)
    assert len(table) == 8 * 3
    assert table["level"].tolist() == [level for level in range(1, 9) for _ in range(3)]
    assert table["layer"].tolist() == [layer for layer in CASCADE_LAYERS for _ in range(3)]
    expected_keys = [(i.clip_id, i.class_name) for i in chosen] * 8
    assert list(zip(table["clip_id"], table["class"], strict=True)) == expected_keys
    rho = table["spearman"].to_numpy()
    assert np.all(np.isnan(rho) | ((rho >= -1) & (rho <= 1)))
    level8 = table.loc[table["level"] == 8, "spearman"]
    assert level8.notna().any() and (level8.dropna() < 0.999).all()
    if method == "saliency":
        assert table["spearman"].notna().all()
    medians = level_medians(table)
    assert summary["median_spearman"] == pytest.approx(medians.to_dict(), abs=1e-6, nan_ok=True)
    assert summary["n_instances"] == 3
    assert (
        sum("level" in r.getMessage() and "randomised down to" in r.message for r in caplog.records)
        == 8
    )
    # The file holds 6 decimals (igsed.formats.tables.write_csv); writing it again is exact.
    write_sanity(tmp_path / "again.csv", table)
    assert (tmp_path / "again.csv").read_bytes() == out_path.read_bytes()


def test_the_robustness_table_by_hand(dataset: dict[str, Path], tmp_path: Path) -> None:
    """Random-logit and max-sensitivity of saliency, recomputed with autograd through the
    model's own forward, scipy's Spearman and numpy norms, from the documented seeding."""
    settings = SanitySettings(n_instances=3, seed=SEED, device="cpu", robustness_draws=2)
    job = _job(dataset, "saliency", tmp_path / "saliency.csv")
    job = dataclasses.replace(job, robustness_path=tmp_path / "robustness" / "saliency.csv")
    sanity(job, settings, {})
    table = read_robustness(job.robustness_path)
    instances = read_instances(dataset["instances"])
    chosen = select_instances(instances, 3, SEED)
    assert list(zip(table["clip_id"], table["class"], strict=True)) == [
        (i.clip_id, i.class_name) for i in chosen
    ]
    model = load_explained_model(dataset["backbone"], dataset["clip_head"], "cpu")
    for clip in clip_inputs(job, chosen):
        absent_stream, noise_stream = clip_seed_sequence(clip.clip_id, SEED).spawn(2)
        detected = {i.class_name for i in instances if i.clip_id == clip.clip_id}
        candidates = [name for name in CLASSES if name not in detected]
        absent = candidates[int(np.random.default_rng(absent_stream).integers(len(candidates)))]
        noise = np.random.default_rng(noise_stream)
        scale = 0.01 * np.abs(clip.waveform).max()
        noisy = [
            (clip.waveform + scale * noise.standard_normal(clip.waveform.shape)).astype(np.float32)
            for _ in range(2)
        ]
        other = _plain_saliency(model, clip.waveform, CLASSES.index(absent))
        for target in clip.targets:
            row = table[(table["clip_id"] == clip.clip_id) & (table["class"] == CLASSES[target])]
            assert row["absent_class"].item() == absent and absent not in detected
            own = _plain_saliency(model, clip.waveform, target)
            rho = spearmanr(own, other).statistic
            assert row["random_logit"].item() == pytest.approx(rho, abs=2e-3)
            changes = [np.linalg.norm(_plain_saliency(model, x, target) - own) for x in noisy]
            expected = max(changes) / np.linalg.norm(own)
            assert row["max_sensitivity"].item() == pytest.approx(expected, rel=1e-3)
    assert (table["max_sensitivity"] > 0).all() and (table["random_logit"] < 1).all()


def test_robustness_table_round_trip_and_errors(tmp_path: Path) -> None:
    path = tmp_path / "robustness.csv"
    good = pd.DataFrame(
        [
            ("b", "Dog", "Cat", 0.25, 0.5),
            ("a", "Cat", "Dog", float("nan"), 0.125),
            ("c", "Cat", "", float("nan"), 0.0),  # every class detected: no absent class
        ],
        columns=list(ROBUSTNESS_COLUMNS),
    )
    write_robustness(path, good)
    back = read_robustness(path)
    assert back["clip_id"].tolist() == ["a", "b", "c"] and np.isnan(back["random_logit"][0])
    assert back["absent_class"].tolist() == ["Dog", "Cat", ""]
    bad = {
        r"\[-1, 1\]": good.assign(random_logit=1.5),
        "negative max_sensitivity": good.assign(max_sensitivity=-0.1),
        "absent class equal": good.assign(absent_class=good["class"]),
    }
    for message, frame in bad.items():
        frame.to_csv(path, index=False)
        seal(path)
        with pytest.raises(ValueError, match=rf"{path}.*{message}"):
            read_robustness(path)


def test_no_instances_give_an_empty_table(dataset: dict[str, Path], tmp_path: Path) -> None:
    instances = tmp_path / "instances_test.tsv"
    write_instances(instances, [])
    job = _job({**dataset, "instances": instances}, "saliency", tmp_path / "saliency.csv")
    summary = sanity(job, SanitySettings(device="cpu"), {})
    assert read_sanity(job.out_path).empty
    assert summary["n_instances"] == 0


# --- Any model with named layers: a tiny CRNN from its file --------------------------------


def _crnn_file(root: Path) -> Path:
    torch.manual_seed(1)
    model = Crnn(CrnnShape(channels=(4, 8, 8), gru_hidden=8))
    path = root / "classifier.pt"
    save_crnn(model, path, training={})
    return path


def test_a_cascade_of_any_length_round_trips(tmp_path: Path) -> None:
    rows = [
        (level, layer, f"test_{i:05d}", CLASSES[i], 0.1 * level - 0.2 * i)
        for level, layer in enumerate(CRNN_CASCADE, start=1)
        for i in range(2)
    ]
    path = tmp_path / "crnn.csv"
    write_sanity(path, pd.DataFrame(rows, columns=list(SANITY_COLUMNS)))
    table = read_sanity(path)
    assert cascade_of(table) == CRNN_CASCADE
    expected = [np.median([0.1 * level, 0.1 * level - 0.2]) for level in range(1, 7)]
    np.testing.assert_allclose(level_medians(table).to_numpy(), expected, atol=1e-9)
    assert level_medians(table, 8).index.tolist() == list(range(1, 9))
    # Every instance needs every level the file holds.
    pd.DataFrame(rows[:-1], columns=list(SANITY_COLUMNS)).to_csv(path, index=False)
    seal(path)
    with pytest.raises(ValueError, match="has 5 level values, expected 6"):
        read_sanity(path)


def test_the_job_runs_on_a_crnn_file(dataset: dict[str, Path], tmp_path: Path) -> None:
    """Six levels, each the Spearman of plain autograd saliency on the CRNN randomised down to
    that level with the trained CRNN's (scipy)."""
    path = _crnn_file(tmp_path)
    out_path = tmp_path / "saliency.csv"
    job = SanityJob(
        "saliency", dataset["manifest"], {"classifier": path}, dataset["instances"], out_path
    )
    settings = SanitySettings(n_instances=3, seed=SEED, device="cpu")
    summary = sanity(job, settings, {})
    table = read_sanity(out_path)
    assert cascade_of(table) == CRNN_CASCADE
    assert table["level"].tolist() == [level for level in range(1, 7) for _ in range(3)]
    assert sorted(summary["median_spearman"]) == list(range(1, 7))
    chosen = select_instances(read_instances(dataset["instances"]), 3, SEED)
    clips = {clip.clip_id: clip.waveform for clip in clip_inputs(job, chosen)}
    reference = {}
    for level in range(7):
        model = load_classifier(path)
        for layer in CRNN_CASCADE[:level]:
            randomise_layer(model, layer, SEED)
        for instance in chosen:
            target = CLASSES.index(instance.class_name)
            scores = _plain_saliency(model, clips[instance.clip_id], target)
            key = (instance.clip_id, instance.class_name)
            if level == 0:
                reference[key] = scores
                continue
            row = table[
                (table["level"] == level)
                & (table["clip_id"] == key[0])
                & (table["class"] == key[1])
            ]
            expected = spearmanr(scores, reference[key]).statistic
            assert row["spearman"].item() == pytest.approx(expected, abs=1e-4), (level, key)
    assert (table.loc[table["level"] == 6, "spearman"] < 0.999).all()


def test_a_model_without_named_layers_is_refused(dataset: dict[str, Path], tmp_path: Path) -> None:
    class Flat(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.linear = torch.nn.Linear(1, len(CLASSES))

        def forward(self, waveform: torch.Tensor) -> torch.Tensor:
            return torch.sigmoid(self.linear(waveform.abs().mean(dim=1, keepdim=True)))

    exported = tmp_path / "flat.pt"
    torch.jit.save(torch.jit.trace(Flat(), torch.ones(1, 320)), str(exported))
    spec = {
        "kind": "torchscript",
        "path": str(exported),
        "classes": list(CLASSES),
        "sample_rate": 32000,
        "class_map": {name: name for name in CLASSES},
    }
    register_user_model("flat", spec, tmp_path / "classifier.pt")
    out_path = tmp_path / "saliency.csv"
    models = {"classifier": tmp_path / "classifier.pt"}
    job = SanityJob("saliency", dataset["manifest"], models, dataset["instances"], out_path)
    with pytest.raises(ClassifierError, match=r"model 'flat' declares no named layers"):
        sanity(job, SanitySettings(n_instances=3, seed=SEED, device="cpu"), {})
    assert not out_path.exists()


# --- Seed agreement (rule agreement) ----------------------------------------------------


def _seed_head(dataset: dict[str, Path], seed: int, path: Path) -> Path:
    """Another clip head on the same backbone, initialised from `seed`."""
    torch.manual_seed(seed)
    head = make_head("clip", load_backbone(dataset["backbone"]), "max")
    digest = file_digest(dataset["backbone"])
    save_head(head, path, head="clip", backbone_sha256=digest, training={})
    return path


def test_the_agreement_table_by_hand(dataset: dict[str, Path], tmp_path: Path) -> None:
    """Seed agreement and head spread of saliency over three heads, recomputed with autograd,
    scipy's Spearman and the heads' own forward."""
    heads = [dataset["clip_head"], *(_seed_head(dataset, s, tmp_path / f"h{s}.pt") for s in (1, 2))]
    job = AgreementJob(
        "saliency",
        dataset["manifest"],
        dataset["backbone"],
        heads,
        dataset["instances"],
        tmp_path / "agreement" / "saliency.csv",
    )
    settings = SanitySettings(n_instances=3, seed=SEED, device="cpu", agreement_seeds=(1, 2))
    summary = agreement(job, settings, {})
    table = read_agreement(job.out_path)
    chosen = select_instances(read_instances(dataset["instances"]), 3, SEED)
    assert list(zip(table["clip_id"], table["class"], strict=True)) == [
        (i.clip_id, i.class_name) for i in chosen
    ]
    models = [load_explained_model(dataset["backbone"], head, "cpu") for head in heads]
    for clip in clip_inputs(job, chosen):
        for target in clip.targets:
            maps = [_plain_saliency(model, clip.waveform, target) for model in models]
            pairs = [spearmanr(maps[i], maps[j]).statistic for i, j in ((0, 1), (0, 2), (1, 2))]
            with torch.no_grad():
                x = torch.from_numpy(clip.waveform)[None]
                probabilities = [float(model(x)[0, target]) for model in models]
            row = table[(table["clip_id"] == clip.clip_id) & (table["class"] == CLASSES[target])]
            assert row["seed_agreement"].item() == pytest.approx(np.mean(pairs), abs=2e-3)
            spread = max(probabilities) - min(probabilities)
            assert row["head_spread"].item() == pytest.approx(spread, abs=1e-6)
    # Differently initialised heads give other maps, not unrelated ones.
    assert (table["seed_agreement"] < 0.999).all() and (table["head_spread"] > 0).all()
    assert summary["n_heads"] == 3 and summary["n_instances"] == 3
    with pytest.raises(ValueError, match="at least two clip heads"):
        agreement(dataclasses.replace(job, heads=heads[:1]), settings, {})
    with pytest.raises(ValueError, match="'occlusion'.*Allowed"):
        agreement(dataclasses.replace(job, method="occlusion"), settings, {})


def test_agreement_measures_by_hand() -> None:
    # Three maps: ranks of b reverse a's (rho -1); c agrees with a (rho 1) and so -1 with b.
    a, b, c = np.array([1.0, 2, 3]), np.array([3.0, 2, 1]), np.array([10.0, 20, 30])
    assert pairwise_agreement([a, b, c]) == pytest.approx((-1 + 1 - 1) / 3)
    assert pairwise_agreement([a, c]) == pytest.approx(1.0)
    # A constant map has no rank correlation: only the defined pair counts.
    assert pairwise_agreement([a, c, np.zeros(3)]) == pytest.approx(1.0)
    assert np.isnan(pairwise_agreement([np.zeros(3), np.ones(3)]))
    assert spread([0.25, 0.75, 0.5]) == pytest.approx(0.5)
    with pytest.raises(ValueError, match="repeats a seed"):
        SanitySettings(agreement_seeds=[1, 1])


def test_agreement_table_round_trip_and_errors(tmp_path: Path) -> None:
    path = tmp_path / "agreement.csv"
    good = pd.DataFrame(
        [("b", "Dog", 0.25, 0.5), ("a", "Cat", float("nan"), 0.0)],
        columns=list(AGREEMENT_COLUMNS),
    )
    write_agreement(path, good)
    back = read_agreement(path)
    assert back["clip_id"].tolist() == ["a", "b"] and np.isnan(back["seed_agreement"][0])
    bad = {
        r"\[-1, 1\]": good.assign(seed_agreement=-1.5),
        r"head_spread must be .* \[0, 1\]": good.assign(head_spread=[0.5, float("nan")]),
        "missing columns": good.drop(columns="head_spread"),
    }
    for message, frame in bad.items():
        frame.to_csv(path, index=False)
        seal(path)
        with pytest.raises(ValueError, match=rf"{path}.*{message}"):
            read_agreement(path)
