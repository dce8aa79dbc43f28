"""Static facts of the study: class list, audio format and the two time grids."""

from __future__ import annotations

CLASSES: tuple[str, ...] = (
    "Alarm_bell_ringing",
    "Blender",
    "Cat",
    "Dishes",
    "Dog",
    "Electric_shaver_toothbrush",
    "Frying",
    "Running_water",
    "Speech",
    "Vacuum_cleaner",
)
N_CLASSES = len(CLASSES)
CLASS_INDEX: dict[str, int] = {name: i for i, name in enumerate(CLASSES)}

SAMPLE_RATE = 32_000
CLIP_SECONDS = 10.0
CLIP_SAMPLES = int(SAMPLE_RATE * CLIP_SECONDS)

# Evaluation grid of the metric protocol: frame i = [0.1 i, 0.1 (i + 1)).
EVAL_FRAME_SECONDS = 0.1
N_EVAL_FRAMES = 100

# CNN14 front-end hop (320 samples) times the 2**5 time downsampling of conv blocks 1-5.
STFT_HOP = 320
MODEL_FRAME_SECONDS = STFT_HOP * 32 / SAMPLE_RATE  # 0.32 s
LOGMEL_FRAME_SECONDS = STFT_HOP / SAMPLE_RATE  # 0.01 s: one log-mel frame (CNN14, CRNN)
N_MODEL_FRAMES = 31

# Every split a manifest can name. `pretrain` clips only feed backbone pretraining.
SPLITS: tuple[str, ...] = ("train", "val", "test")
EVAL_SPLITS: tuple[str, ...] = ("val", "test")
