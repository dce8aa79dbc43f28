"""Soundscape synthesis with Scaper (paper Sec. II-A): 10 s clips of 1-3 events over a background.

Every random choice of a clip (event count, classes, source files, onsets, SNRs, background
and its offset) is drawn here from a generator seeded by (seed, pool, index) alone, and handed
to Scaper as constants. So a clip never depends on which chunk made it, the same config gives
byte-identical files, and onsets are uniform over the positions where the event fits (Scaper's
own clamping of a too-late onset would pile events up against the clip's end).

A chunk directory holds, per clip, `<clip_id>.wav`, `<clip_id>.jams` (Scaper's annotation)
and `<clip_id>.tsv` (DCASE: filename, onset, offset, event_label), plus `events.tsv` for the
whole chunk (CHUNK_EVENT_COLUMNS: the DCASE columns plus clip_id, the source file relative
to the soundbank root and its sha256). `read_clip_jams` and
igsed.formats.manifest.read_chunk_events are the readers of what is written here.
"""

from __future__ import annotations

import logging
import math
import time
import warnings
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import soundfile as sf

from igsed.core.annotations import Event, max_polyphony
from igsed.core.audio import write_wav
from igsed.core.checksums import file_digest
from igsed.core.constants import CLASSES
from igsed.core.scaper_compat import import_scaper
from igsed.formats.manifest import CHUNK_EVENT_COLUMNS, CHUNK_EVENTS_NAME, write_table_tsv

log = logging.getLogger(__name__)

# Which soundbank half feeds each clip pool: train and eval sources never meet.
SOUNDBANK_HALF: dict[str, str] = {"pretrain": "train", "train": "train", "evalpool": "eval"}
# Part of every clip's seed, so `pretrain_00003` and `train_00003` differ although both draw
# from the train soundbank pool. Never renumber: it would change every clip.
POOL_CODE: dict[str, int] = {"pretrain": 1, "train": 2, "evalpool": 3}

DCASE_COLUMNS: tuple[str, ...] = ("filename", "onset", "offset", "event_label")


@dataclass(frozen=True)
class SynthesisSettings:
    """Soundscape parameters (config section `synthesis`, see `from_config`)."""

    duration_s: float = 10.0
    sample_rate: int = 32000
    n_events: tuple[int, int] = (1, 3)  # inclusive
    snr_db: tuple[float, float] = (15.0, 25.0)
    ref_db: float = -55.0

    def __post_init__(self) -> None:
        lo, hi = self.n_events
        if not 0 <= lo <= hi:
            raise ValueError(f"synthesis.n_events must be 0 <= min <= max, got {self.n_events}")
        if self.snr_db[0] > self.snr_db[1]:
            raise ValueError(f"synthesis.snr_db must be [lo, hi] with lo <= hi, got {self.snr_db}")
        if self.duration_s <= 0 or self.sample_rate <= 0:
            raise ValueError(
                f"synthesis.duration_s and sample_rate must be positive, "
                f"got {self.duration_s}, {self.sample_rate}"
            )

    @classmethod
    def from_config(cls, section: Mapping[str, Any]) -> SynthesisSettings:
        """From the config section `synthesis` (its seed, n_clips and chunks are not settings)."""
        return cls(
            duration_s=float(section["duration_s"]),
            sample_rate=int(section["sample_rate"]),
            n_events=(int(section["n_events"][0]), int(section["n_events"][1])),
            snr_db=(float(section["snr_db"][0]), float(section["snr_db"][1])),
            ref_db=float(section["ref_db"]),
        )


@dataclass(frozen=True)
class _Source:
    path: Path
    relative: str  # path relative to the soundbank root, as stored in the event tables
    duration_s: float


@dataclass
class _HalfFiles:
    foreground_dir: Path
    foreground: dict[str, list[_Source]]  # class -> files, only classes that have files
    background: list[_Source]


def chunk_indices(n_clips: int, n_chunks: int, chunk: int) -> range:
    """Clip indices of chunk `chunk` of `n_chunks` contiguous, near-equal chunks."""
    if n_clips < 0:
        raise ValueError(f"n_clips must be >= 0, got {n_clips}")
    if n_chunks < 1:
        raise ValueError(f"synthesis.chunks must be >= 1, got {n_chunks}")
    if not 0 <= chunk < n_chunks:
        raise ValueError(f"chunk {chunk} out of range for {n_chunks} chunks")
    base, extra = divmod(n_clips, n_chunks)
    start = chunk * base + min(chunk, extra)
    return range(start, start + base + (1 if chunk < extra else 0))


def clip_id(pool: str, index: int) -> str:
    return f"{pool}_{index:05d}"


def clip_rng(seed: int, pool: str, index: int) -> np.random.Generator:
    """The only source of randomness of clip `index` of `pool`."""
    if pool not in POOL_CODE:
        raise ValueError(f"unknown synthesis pool {pool!r}; expected one of {sorted(POOL_CODE)}")
    return np.random.default_rng(np.random.SeedSequence([int(seed), POOL_CODE[pool], int(index)]))


def _audio_files(folder: Path) -> list[Path]:
    """Visible regular files of `folder`, sorted (hidden files such as `._x.wav` are skipped,
    as the soundbank layout says); non-audio files fail loudly in `_source`."""
    return sorted(p for p in folder.iterdir() if p.is_file() and not p.name.startswith("."))


def _source(path: Path, root: Path) -> _Source:
    try:
        info = sf.info(str(path))
    except RuntimeError as err:
        raise ValueError(f"{path}: not a readable audio file ({err})") from err
    if info.frames == 0:
        raise ValueError(f"{path}: empty audio file")
    return _Source(path, path.relative_to(root).as_posix(), info.frames / info.samplerate)


def _scan_half(soundbank_dir: Path, half: str) -> _HalfFiles:
    half_dir = soundbank_dir / half
    fg_dir, bg_dir = half_dir / "foreground", half_dir / "background"
    for folder in (fg_dir, bg_dir):
        if not folder.is_dir():
            raise FileNotFoundError(f"{folder}: missing soundbank folder (DESED layout expected)")
    foreground: dict[str, list[_Source]] = {}
    for label in CLASSES:
        folder = fg_dir / label
        files = _audio_files(folder) if folder.is_dir() else []
        if files:
            foreground[label] = [_source(p, soundbank_dir) for p in files]
    missing = [label for label in CLASSES if label not in foreground]
    if not foreground:
        raise FileNotFoundError(f"{fg_dir}: no foreground files for any of {list(CLASSES)}")
    if missing:
        log.warning("%s: no foreground files for %s; those classes never occur", fg_dir, missing)
    # The layout keeps backgrounds flat; one level of sub-folders (DESED's background/sins/)
    # is accepted too, its folder name becoming Scaper's background label.
    bg_files = _audio_files(bg_dir) + [
        p
        for sub in sorted(bg_dir.iterdir())
        if sub.is_dir() and not sub.name.startswith(".")
        for p in _audio_files(sub)
    ]
    if not bg_files:
        raise FileNotFoundError(f"{bg_dir}: no background files")
    return _HalfFiles(fg_dir, foreground, [_source(p, soundbank_dir) for p in bg_files])


@dataclass(frozen=True)
class _PlannedEvent:
    label: str
    source: _Source
    onset: float
    duration: float
    snr: float


def _plan_clip(
    rng: np.random.Generator, files: _HalfFiles, settings: SynthesisSettings
) -> tuple[_Source, float, list[_PlannedEvent]]:
    background = files.background[int(rng.integers(len(files.background)))]
    # A background shorter than the clip is looped by Scaper from its start.
    bg_offset = float(rng.uniform(0.0, max(background.duration_s - settings.duration_s, 0.0)))
    labels = sorted(files.foreground)
    n_events = int(rng.integers(settings.n_events[0], settings.n_events[1] + 1))
    events = []
    for _ in range(n_events):
        label = labels[int(rng.integers(len(labels)))]
        candidates = files.foreground[label]
        source = candidates[int(rng.integers(len(candidates)))]
        # Natural duration; a source longer than the clip keeps its first duration_s seconds.
        duration = min(source.duration_s, settings.duration_s)
        onset = float(rng.uniform(0.0, settings.duration_s - duration))
        snr = float(rng.uniform(settings.snr_db[0], settings.snr_db[1]))
        events.append(_PlannedEvent(label, source, onset, duration, snr))
    return background, bg_offset, events


def _generate(
    foreground_dir: Path,
    background: _Source,
    bg_offset: float,
    events: list[_PlannedEvent],
    settings: SynthesisSettings,
    random_state: int,
) -> tuple[np.ndarray, Any]:
    scaper = import_scaper()
    # Scaper wants bg_path/<label>/<file>: the background file's folder is its label.
    bg_path = background.path.parent.parent
    sc = scaper.Scaper(
        settings.duration_s, str(foreground_dir), str(bg_path), random_state=random_state
    )
    sc.sr = settings.sample_rate
    sc.ref_db = settings.ref_db
    sc.add_background(
        ("const", background.path.parent.name),
        ("const", str(background.path)),
        ("const", bg_offset),
    )
    for event in events:
        sc.add_event(
            label=("const", event.label),
            source_file=("const", str(event.source.path)),
            source_time=("const", 0.0),
            event_time=("const", event.onset),
            event_duration=("const", event.duration),
            snr=("const", event.snr),
            pitch_shift=None,
            time_stretch=None,
        )
    with warnings.catch_warnings():
        # Every value is a constant drawn above, so Scaper only warns about what is intended:
        # looping a background shorter than the clip, and rescaling a clipping mix (which
        # fix_clipping records in the JAMS as ref_db_change).
        warnings.simplefilter("ignore")
        audio, jam, _, event_audio = sc.generate(
            fix_clipping=True, disable_instantiation_warnings=True
        )
    observations = jam.annotations.search(namespace="scaper")[0].data
    for obs, isolated in zip(observations, event_audio, strict=True):
        peak = float(np.max(np.abs(isolated))) if isolated.size else 0.0
        if not math.isfinite(peak) or peak == 0.0:
            raise ValueError(
                f"{obs.value['source_file']}: silent or unmeasurable after Scaper's LUFS "
                f"normalisation (peak {peak}); the source has no audible content"
            )
    return np.asarray(audio, dtype=np.float64).reshape(-1), jam


def _finalise_jams(jam: Any, cid: str, pool: str, index: int, seed: int) -> None:
    """Name the clip's files in the JAMS and record where its randomness came from.

    Scaper writes nothing itself here (audio_path/jams_path would be None); the JAMS holds
    no timestamps, only the scaper and jams versions, so equal inputs give equal bytes.
    """
    scaper_sandbox = jam.annotations.search(namespace="scaper")[0].sandbox.scaper
    scaper_sandbox.audio_path = f"{cid}.wav"
    scaper_sandbox.jams_path = f"{cid}.jams"
    jam.sandbox.igsed = {"clip_id": cid, "pool": pool, "index": index, "seed": seed}


def read_clip_jams(path: str | Path) -> tuple[list[Event], list[str]]:
    """Foreground events (as placed by Scaper, in time order) and their source files."""
    import jams

    import_scaper()  # registers Scaper's JAMS namespace
    jam = jams.load(str(path), validate=False)
    found = jam.annotations.search(namespace="scaper")
    if not found:
        raise ValueError(f"{path}: no Scaper annotation (namespace 'scaper')")
    events, sources = [], []
    for obs in found[0].data:
        if obs.value["role"] == "foreground":
            onset = float(obs.time)
            events.append(Event(onset, onset + float(obs.duration), str(obs.value["label"])))
            sources.append(str(obs.value["source_file"]))
    return events, sources


def synthesize(
    soundbank_dir: Path,
    pool: str,
    out_dir: Path,
    *,
    indices: range,
    seed: int,
    settings: SynthesisSettings,
) -> dict[str, Any]:
    """Generate clips `indices` of `pool` into `out_dir` and return a summary of the chunk.

    `out_dir` should be the temporary directory of `igsed.core.atomic.atomic_dir`.
    """
    if pool not in SOUNDBANK_HALF:
        raise ValueError(
            f"unknown synthesis pool {pool!r}; expected one of {sorted(SOUNDBANK_HALF)}"
        )
    soundbank_dir, out_dir = Path(soundbank_dir), Path(out_dir)
    files = _scan_half(soundbank_dir, SOUNDBANK_HALF[pool])
    out_dir.mkdir(parents=True, exist_ok=True)
    digests: dict[Path, str] = {}
    rows: list[dict[str, Any]] = []
    per_clip_events: Counter[int] = Counter()
    polyphony: Counter[int] = Counter()
    truncated = 0
    started = time.monotonic()
    report_every = max(1, len(indices) // 10)
    log.info(
        "synthesizing %d %s clips (indices %d..%d) from %s/%s",
        len(indices),
        pool,
        indices.start,
        indices.stop - 1,
        soundbank_dir,
        SOUNDBANK_HALF[pool],
    )
    for done, index in enumerate(indices, start=1):
        cid = clip_id(pool, index)
        rng = clip_rng(seed, pool, index)
        background, bg_offset, plan = _plan_clip(rng, files, settings)
        random_state = int(rng.integers(2**31 - 1))
        audio, jam = _generate(
            files.foreground_dir, background, bg_offset, plan, settings, random_state
        )
        _finalise_jams(jam, cid, pool, index, seed)
        write_wav(out_dir / f"{cid}.wav", audio, settings.sample_rate)
        with warnings.catch_warnings():
            # jams validates through a jsonschema call that jsonschema deprecates; harmless.
            warnings.simplefilter("ignore", DeprecationWarning)
            jam.save(str(out_dir / f"{cid}.jams"))

        by_path = {str(e.source.path): e.source for e in plan}
        clip_rows = []
        for obs in jam.annotations.search(namespace="scaper")[0].data:
            if obs.value["role"] != "foreground":
                continue
            source = by_path[str(obs.value["source_file"])]
            if source.path not in digests:
                digests[source.path] = file_digest(source.path)
            onset = float(obs.time)
            clip_rows.append(
                {
                    "clip_id": cid,
                    "filename": f"{cid}.wav",
                    "onset": onset,
                    "offset": onset + float(obs.duration),
                    "event_label": str(obs.value["label"]),
                    "source_file": source.relative,
                    "source_sha256": digests[source.path],
                }
            )
        clip_table = pd.DataFrame(clip_rows, columns=list(CHUNK_EVENT_COLUMNS))
        write_table_tsv(clip_table.loc[:, list(DCASE_COLUMNS)], out_dir / f"{cid}.tsv")
        rows.extend(clip_rows)
        per_clip_events[len(clip_rows)] += 1
        polyphony[
            max_polyphony(Event(r["onset"], r["offset"], r["event_label"]) for r in clip_rows)
        ] += 1
        truncated += sum(e.source.duration_s > e.duration for e in plan)
        if done % report_every == 0 or done == len(indices):
            log.info(
                "%s: %d/%d clips (%.0f %%), %.1f s",
                pool,
                done,
                len(indices),
                100.0 * done / len(indices),
                time.monotonic() - started,
            )

    events = pd.DataFrame(rows, columns=list(CHUNK_EVENT_COLUMNS))
    write_table_tsv(events, out_dir / CHUNK_EVENTS_NAME)
    summary: dict[str, Any] = {
        "pool": pool,
        "soundbank_half": SOUNDBANK_HALF[pool],
        "seed": seed,
        "indices": [indices.start, indices.stop],
        "n_clips": len(indices),
        "n_events": len(rows),
        "clips_by_n_events": {str(k): v for k, v in sorted(per_clip_events.items())},
        "clips_by_polyphony": {str(k): v for k, v in sorted(polyphony.items())},
        "events_by_class": {c: int((events["event_label"] == c).sum()) for c in CLASSES},
        "truncated_events": int(truncated),
        "seconds": round(time.monotonic() - started, 3),
    }
    return summary
