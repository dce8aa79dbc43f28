"""The `synthetic` soundbank: seeded procedural generators for the ten DESED classes.

The offline default of the pipeline needs a soundbank without downloads. Each class gets a
time-frequency signature a listener (and a small CNN on log-mel) would recognise, with random
pitch, timbre, level and length per file, so that the train and eval halves hold different
sounds of the same kind, as DESED's do. Backgrounds are quiet domestic ambience (coloured
noise, mains hum, faint distant thumps) that carries none of the foreground signatures.

Output follows the DESED layout that Scaper reads::

    <out_dir>/{train,eval}/foreground/<Class>/*.wav
    <out_dir>/{train,eval}/background/*.wav

Every file is seeded from (seed, half, kind, class, index) through numpy's SeedSequence
spawn keys, so the halves come from disjoint seed streams and any one file can be regenerated
alone.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Mapping
from pathlib import Path

import numpy as np

from igsed.core.audio import write_wav
from igsed.core.constants import CLASSES, SAMPLE_RATE
from igsed.soundbank import _dsp as dsp

logger = logging.getLogger(__name__)

HALVES: tuple[str, ...] = ("train", "eval")
_HALF_KEY = {"train": 0, "eval": 1}
_FOREGROUND_KEY = 0
_BACKGROUND_KEY = 1

# Natural event lengths in seconds: transient, vocal/alarm, and continuous appliance classes.
EVENT_SECONDS: dict[str, tuple[float, float]] = {
    "Alarm_bell_ringing": (0.5, 4.0),
    "Blender": (1.5, 6.0),
    "Cat": (0.5, 4.0),
    "Dishes": (0.25, 1.5),
    "Dog": (0.25, 1.5),
    "Electric_shaver_toothbrush": (1.5, 6.0),
    "Frying": (1.5, 6.0),
    "Running_water": (1.5, 6.0),
    "Speech": (0.5, 4.0),
    "Vacuum_cleaner": (1.5, 6.0),
}
TRANSIENT_CLASSES: tuple[str, ...] = ("Dishes", "Dog")
CONTINUOUS_CLASSES: tuple[str, ...] = (
    "Blender",
    "Electric_shaver_toothbrush",
    "Frying",
    "Running_water",
    "Vacuum_cleaner",
)
# Peak level of a foreground file (dBFS); Scaper rescales by LUFS, but the files themselves
# should not all sit at one level, as recorded files do not.
EVENT_PEAK_DBFS: tuple[float, float] = (-18.0, -3.0)
BACKGROUND_SECONDS: tuple[float, float] = (11.0, 16.0)
BACKGROUND_PEAK_DBFS: tuple[float, float] = (-30.0, -18.0)
FADE_SECONDS: tuple[float, float] = (0.005, 0.02)
MIN_SAMPLE_RATE = 16000

EventGenerator = Callable[[np.random.Generator, int, int], np.ndarray]


# --------------------------------------------------------------------------- foreground classes


def _alarm(rng: np.random.Generator, n: int, sr: int) -> np.ndarray:
    """Beeping piezo, electric bell, or telephone trill: tonal and periodic."""
    t = np.arange(n) / sr
    variant = rng.integers(3)
    if variant == 0:
        freq = dsp.log_uniform(rng, 1500.0, 4000.0)
        phase = dsp.phase_from_frequency(np.full(n, freq), sr, rng)
        # A piezo's square-ish drive puts energy on the odd harmonics.
        amps = np.array([1.0, 0.0, rng.uniform(0.1, 0.4), 0.0, rng.uniform(0.05, 0.2)])
        amps[np.arange(1, 6) * freq >= 0.45 * sr] = 0.0
        tone = dsp.harmonic_sum(phase, amps)
        period = rng.uniform(0.12, 0.6)
        envelope = dsp.gate(n, sr, period, rng.uniform(0.45, 0.8), 0.004, rng.uniform(0, period))
        if period * 2 < n / sr and rng.random() < 0.4:
            # Grouped beeps (beep-beep-beep, pause) as many appliances do.
            group = int(rng.integers(2, 5))
            envelope *= dsp.gate(n, sr, period * (group + 1), group / (group + 1), 0.004)
        return tone * envelope
    if variant == 1:
        fundamental = dsp.log_uniform(rng, 700.0, 2200.0)
        ratios = np.array([1.0, 2.76, 5.40, 8.93]) * rng.uniform(0.97, 1.03, 4)
        freqs = fundamental * ratios
        amps = np.array([1.0, 0.6, 0.35, 0.2]) * rng.uniform(0.6, 1.2, 4)
        amps[freqs >= 0.45 * sr] = 0.0
        phase = rng.uniform(0, 1, 4)
        ring = sum(
            a * np.sin(2 * np.pi * (f * t + p)) for f, a, p in zip(freqs, amps, phase, strict=True)
        )
        # The clapper re-strikes the gong 12-28 times a second: a fast sawtooth-decay envelope.
        strike_hz = rng.uniform(12.0, 28.0)
        since_strike = (t * strike_hz + rng.uniform()) % 1.0 / strike_hz
        floor = rng.uniform(0.3, 0.6)
        envelope = floor + (1 - floor) * np.exp(-since_strike / rng.uniform(0.015, 0.04))
        return ring * envelope
    low = dsp.log_uniform(rng, 600.0, 1400.0)
    high = low * rng.uniform(1.15, 1.5)
    trill_hz = rng.uniform(14.0, 25.0)
    square = np.sign(np.sin(2 * np.pi * trill_hz * t))
    freq = np.where(square > 0, high, low)
    phase = dsp.phase_from_frequency(freq, sr, rng)
    tone = dsp.harmonic_sum(phase, np.array([1.0, rng.uniform(0.2, 0.5), rng.uniform(0.1, 0.3)]))
    cadence = rng.uniform(0.6, 1.4)
    envelope = dsp.gate(n, sr, cadence * rng.uniform(1.3, 1.8), 1 / 1.5, 0.01)
    return tone * envelope


def _blender(rng: np.random.Generator, n: int, sr: int) -> np.ndarray:
    """Universal-motor whine whose speed sags under load, plus grinding broadband noise."""
    base = dsp.log_uniform(rng, 90.0, 300.0)
    load = np.clip(dsp.smooth_random(rng, n, sr, rng.uniform(1.5, 4.0)), -2.5, 2.5)
    speed = 1.0 + rng.uniform(0.02, 0.06) * load
    if rng.random() < 0.5:
        ramp_n = int(min(n // 3, rng.uniform(0.2, 0.6) * sr))
        speed[:ramp_n] *= np.linspace(rng.uniform(0.5, 0.8), 1.0, ramp_n)
    phase = dsp.phase_from_frequency(base * speed, sr, rng)
    motor = dsp.sawtooth(phase) + rng.uniform(0.3, 0.8) * dsp.pulse(
        2 * phase, rng.uniform(0.2, 0.5)
    )
    motor = dsp.butter(motor, dsp.log_uniform(rng, 2000.0, 6000.0), "lowpass", sr, 2)
    band = (dsp.log_uniform(rng, 600.0, 1500.0), dsp.log_uniform(rng, 4000.0, 10000.0))
    grind = dsp.butter(rng.standard_normal(n), band, "bandpass", sr, 2)
    # Chunks hitting the blades: rough, fast amplitude changes of the grinding noise.
    chunks = np.abs(dsp.smooth_random(rng, n, sr, rng.uniform(10.0, 30.0)))
    grind *= 0.4 + rng.uniform(0.4, 0.9) * chunks
    rotation_am = 1.0 + rng.uniform(0.05, 0.2) * np.sin(2 * np.pi * phase / 2.0)
    mix = dsp.unit_rms(motor) * rotation_am + rng.uniform(0.6, 1.4) * dsp.unit_rms(grind)
    return mix * (1.0 + 0.3 * np.clip(load, -1.5, 1.5) / 1.5)


def _vacuum(rng: np.random.Generator, n: int, sr: int) -> np.ndarray:
    """Steady airflow roar with a resonant bump, a fan-blade whine and a weak motor hum."""
    roar = dsp.coloured_noise(rng, n, rng.uniform(0.0, 0.8))
    roar = dsp.butter(roar, dsp.log_uniform(rng, 2500.0, 8000.0), "lowpass", sr, 2)
    bump_hz = dsp.log_uniform(rng, 350.0, 1200.0)
    roar = dsp.unit_rms(roar) + rng.uniform(0.8, 2.0) * dsp.unit_rms(
        dsp.resonator(roar, bump_hz, bump_hz * rng.uniform(0.3, 0.7), sr)
    )
    whine_hz = dsp.log_uniform(rng, 700.0, 3000.0)
    drift = 1.0 + 0.003 * dsp.smooth_random(rng, n, sr, 0.5)
    whine_phase = dsp.phase_from_frequency(whine_hz * drift, sr, rng)
    whine = dsp.harmonic_sum(
        whine_phase, np.array([1.0, rng.uniform(0.1, 0.5), rng.uniform(0.0, 0.3)])
    )
    hum_phase = dsp.phase_from_frequency(np.full(n, dsp.log_uniform(rng, 60.0, 150.0)), sr, rng)
    hum = dsp.harmonic_sum(hum_phase, np.array([1.0, 0.5, 0.3]))
    steady = 1.0 + rng.uniform(0.01, 0.05) * dsp.smooth_random(rng, n, sr, 0.7)
    mix = (
        dsp.unit_rms(roar)
        + dsp.db_to_gain(rng.uniform(-16.0, -6.0)) * dsp.unit_rms(whine)
        + dsp.db_to_gain(rng.uniform(-24.0, -14.0)) * dsp.unit_rms(hum)
    )
    return mix * steady


def _shaver(rng: np.random.Generator, n: int, sr: int) -> np.ndarray:
    """A stable, bright buzz: foil shaver (mains-driven), rotary shaver or sonic toothbrush."""
    variant = rng.integers(3)
    if variant == 0:
        f0, duty, noise_db = dsp.log_uniform(rng, 90.0, 140.0), rng.uniform(0.08, 0.25), -30.0
    elif variant == 1:
        f0, duty, noise_db = dsp.log_uniform(rng, 140.0, 240.0), rng.uniform(0.15, 0.35), -18.0
    else:
        f0, duty, noise_db = dsp.log_uniform(rng, 220.0, 320.0), rng.uniform(0.2, 0.45), -26.0
    jitter = 1.0 + 0.002 * dsp.smooth_random(rng, n, sr, 3.0)
    phase = dsp.phase_from_frequency(f0 * jitter, sr, rng)
    buzz = dsp.pulse(phase, duty)
    # Rattling housing: a soft asymmetric clip adds the harsh upper harmonics of a buzzer.
    buzz = np.tanh(rng.uniform(1.5, 4.0) * (buzz + rng.uniform(0.0, 0.3)))
    buzz = dsp.butter(buzz, 120.0, "highpass", sr, 2)
    body_hz = dsp.log_uniform(rng, 1500.0, 5000.0)
    buzz = dsp.unit_rms(buzz) + rng.uniform(0.3, 1.0) * dsp.unit_rms(
        dsp.resonator(buzz, body_hz, body_hz * 0.4, sr)
    )
    noise = dsp.butter(rng.standard_normal(n), 3000.0, "highpass", sr, 2)
    mix = dsp.unit_rms(buzz) + dsp.db_to_gain(noise_db) * dsp.unit_rms(noise)
    if variant == 2:
        # Brushing strokes load the head a few times a second.
        stroke_hz = rng.uniform(1.5, 4.0)
        mix *= 1.0 + rng.uniform(0.15, 0.35) * np.sin(2 * np.pi * stroke_hz * np.arange(n) / sr)
    return mix


def _cat(rng: np.random.Generator, n: int, sr: int) -> np.ndarray:
    """One to three meows: harmonic, high pitch that rises then falls, gliding formants."""
    total_s = n / sr
    n_meows = 1 if total_s < 1.2 else int(rng.integers(1, min(3, int(total_s / 0.6)) + 1))
    gaps = rng.uniform(0.08, 0.35, n_meows - 1)
    lengths = rng.dirichlet(np.full(n_meows, 4.0)) * (total_s - gaps.sum())
    out = np.zeros(n)
    peak_hz = dsp.log_uniform(rng, 450.0, 1000.0)
    # Kitten to large tom: the vocal tract scales the formants, the voice sets the tilt.
    tract_scale = dsp.log_uniform(rng, 0.75, 1.3)
    tilt = rng.uniform(0.2, 1.0)
    formant_width = rng.uniform(250.0, 500.0)
    start = 0
    for index, length_s in enumerate(lengths):
        m = min(int(length_s * sr), n - start)
        if m < int(0.05 * sr):
            break
        u = np.linspace(0.0, 1.0, m)
        apex = rng.uniform(0.25, 0.6)
        f_peak = peak_hz * rng.uniform(0.9, 1.1)
        start_ratio, fall = rng.uniform(0.6, 0.85), rng.uniform(0.25, 0.45)
        contour = np.where(
            u < apex,
            start_ratio + (1 - start_ratio) * np.sin(0.5 * np.pi * np.minimum(u / apex, 1.0)),
            1.0 - fall * (np.maximum(u - apex, 0.0) / (1 - apex)) ** 1.5,
        )
        f0 = f_peak * contour * (1.0 + 0.01 * dsp.smooth_random(rng, m, sr, 6.0))
        phase = dsp.phase_from_frequency(f0, sr, rng)
        n_harm = int(min(16, 0.45 * sr / f0.max()))
        # "mi-a-ow": the first formant opens and closes as the mouth does.
        f1 = (
            np.interp(
                u,
                [0, 0.4, 1],
                [rng.uniform(700, 1100), rng.uniform(1300, 2000), rng.uniform(700, 1000)],
            )
            * tract_scale
        )
        f2 = rng.uniform(2300, 3500) * tract_scale
        step = 32
        coarse = slice(None, None, step)
        k = np.arange(1, n_harm + 1)[:, None]
        harm_hz = k * f0[coarse][None, :]
        weights = 1.0 / (1.0 + ((harm_hz - f1[coarse][None, :]) / formant_width) ** 2)
        weights += 0.4 / (1.0 + ((harm_hz - f2) / (1.4 * formant_width)) ** 2)
        weights *= k**-tilt
        amps = np.stack([np.interp(np.arange(m), np.arange(0, m, step), w) for w in weights])
        voice = dsp.harmonic_sum(phase, amps)
        breath = dsp.butter(rng.standard_normal(m), (1500.0, 6000.0), "bandpass", sr, 2)
        voice = dsp.unit_rms(voice) + dsp.db_to_gain(rng.uniform(-28.0, -16.0)) * dsp.unit_rms(
            breath
        )
        envelope = np.minimum(1.0, u * length_s / 0.05) * np.minimum(1.0, (1 - u) * length_s / 0.12)
        envelope *= 0.6 + 0.4 * np.sin(np.pi * u) ** 0.5
        out[start : start + m] += voice * envelope
        start += m + (int(gaps[index] * sr) if index < n_meows - 1 else 0)
    return out


def _dishes(rng: np.random.Generator, n: int, sr: int) -> np.ndarray:
    """Short inharmonic clinks: a few struck plates, cups and cutlery, high-pitched and ringing."""
    n_objects = int(rng.integers(1, 4))
    objects = []
    for _ in range(n_objects):
        n_modes = int(rng.integers(3, 7))
        base = dsp.log_uniform(rng, 1500.0, 5000.0)
        ratios = np.sort(np.concatenate([[1.0], rng.uniform(1.3, 4.5, n_modes - 1)]))
        decay = dsp.log_uniform(rng, 0.03, 0.15)
        objects.append((base * ratios, rng.uniform(0.3, 1.0, n_modes), decay / ratios**0.5))
    out = np.zeros(n)
    onset = 0.0
    total_s = n / sr
    while onset < total_s - 0.05:
        freqs, amps, decays = objects[int(rng.integers(n_objects))]
        ring_n = min(n - int(onset * sr), int(5 * decays.max() * sr) + 1)
        hit = dsp.decaying_partials(ring_n, sr, freqs * rng.uniform(0.99, 1.01), amps, decays, rng)
        # The contact itself: a broadband click that a tonal beep never has.
        click_n = min(ring_n, int(rng.uniform(0.002, 0.006) * sr))
        click = dsp.butter(rng.standard_normal(click_n), 500.0, "highpass", sr, 2)
        hit[:click_n] += rng.uniform(0.6, 1.5) * click * np.linspace(1.0, 0.0, click_n) ** 2
        dsp.add_at(out, hit * rng.uniform(0.3, 1.0), int(onset * sr))
        onset += rng.uniform(0.04, 0.3)
    return out


def _dog(rng: np.random.Generator, n: int, sr: int) -> np.ndarray:
    """One to four barks: short, noisy harmonic bursts with a falling pitch and formants."""
    total_s = n / sr
    size = rng.uniform()  # 0 small yappy dog, 1 big dog
    f0_base = np.exp(np.log(750.0) + size * (np.log(220.0) - np.log(750.0)))
    formants = [
        rng.uniform(450, 900) * (1.2 - 0.4 * size),
        rng.uniform(1100, 1900) * (1.2 - 0.3 * size),
        rng.uniform(2400, 3500),
    ]
    bandwidths = [rng.uniform(120, 250), rng.uniform(150, 300), rng.uniform(200, 400)]
    gains = [1.0, rng.uniform(0.4, 0.9), rng.uniform(0.2, 0.5)]
    noisiness = rng.uniform(0.3, 0.9)
    out = np.zeros(n)
    onset = 0.0
    last = False
    while not last:
        bark_s = rng.uniform(0.1, 0.3) * (0.8 + 0.5 * size)
        gap_s = rng.uniform(0.03, 0.2)
        # The last bark runs to the file's end, so a file never trails off into silence.
        last = total_s - onset < bark_s + gap_s + 0.12
        if last:
            bark_s = total_s - onset
        m = int(bark_s * sr)
        u = np.linspace(0.0, 1.0, m)
        f0 = (
            f0_base
            * rng.uniform(0.9, 1.1)
            * (1.0 + 0.25 * np.sin(np.pi * np.minimum(u / 0.3, 1.0)) - 0.35 * u)
        )
        phase = dsp.phase_from_frequency(f0, sr, rng)
        source = dsp.unit_rms(dsp.sawtooth(phase)) + noisiness * rng.standard_normal(m)
        bark = dsp.formant_filter(source, formants, bandwidths, gains, sr)
        envelope = (1.0 - np.exp(-u * bark_s / 0.006)) * np.exp(-2.0 * u)
        dsp.add_at(out, dsp.unit_rms(bark) * envelope * rng.uniform(0.6, 1.0), int(onset * sr))
        onset += bark_s + gap_s
    return out


def _frying(rng: np.random.Generator, n: int, sr: int) -> np.ndarray:
    """Sizzling high-frequency hiss with dense random crackles and occasional pops."""
    hiss = dsp.butter(
        rng.standard_normal(n), dsp.log_uniform(rng, 1500.0, 4000.0), "highpass", sr, 2
    )
    hiss *= 1.0 + rng.uniform(0.05, 0.2) * dsp.smooth_random(rng, n, sr, rng.uniform(0.3, 1.5))
    rate = dsp.log_uniform(rng, 40.0, 250.0)
    n_crackles = rng.poisson(rate * n / sr)
    impulses = np.zeros(n)
    positions = rng.integers(0, n, n_crackles)
    np.add.at(
        impulses,
        positions,
        rng.lognormal(0.0, 0.8, n_crackles) * rng.choice([-1.0, 1.0], n_crackles),
    )
    kernel_n = max(8, int(rng.uniform(0.001, 0.004) * sr))
    kernel = rng.standard_normal(kernel_n) * np.exp(-np.arange(kernel_n) / (kernel_n / 4))
    crackle = np.convolve(impulses, kernel, mode="same")
    crackle = dsp.butter(crackle, dsp.log_uniform(rng, 1000.0, 3000.0), "highpass", sr, 2)
    pops = np.zeros(n)
    for _ in range(rng.poisson(rng.uniform(0.5, 3.0) * n / sr)):
        pop_n = int(rng.uniform(0.005, 0.02) * sr)
        pop = dsp.decaying_partials(
            pop_n,
            sr,
            np.array([dsp.log_uniform(rng, 400.0, 1500.0)]),
            np.array([1.0]),
            np.array([pop_n / sr / 4]),
            rng,
        )
        dsp.add_at(pops, pop, int(rng.integers(0, n)))
    return (
        dsp.unit_rms(hiss)
        + rng.uniform(1.0, 3.0) * dsp.unit_rms(crackle)
        + rng.uniform(0.0, 1.0) * dsp.unit_rms(pops)
    )


def _water(rng: np.random.Generator, n: int, sr: int) -> np.ndarray:
    """Turbulent band-passed noise with fast random modulation, plus rising bubble chirps."""
    band = (dsp.log_uniform(rng, 200.0, 600.0), dsp.log_uniform(rng, 2500.0, 7000.0))
    stream = dsp.butter(rng.standard_normal(n), band, "bandpass", sr, 2)
    turbulence = dsp.smooth_random(rng, n, sr, rng.uniform(8.0, 30.0))
    stream *= np.clip(1.0 + rng.uniform(0.3, 0.6) * turbulence, 0.05, None)
    bubbles = np.zeros(n)
    rate = dsp.log_uniform(rng, 15.0, 120.0)
    centre_hz = dsp.log_uniform(rng, 600.0, 2500.0)
    for _ in range(rng.poisson(rate * n / sr)):
        decay = rng.uniform(0.003, 0.015)
        m = int(5 * decay * sr)
        t = np.arange(m) / sr
        freq = dsp.nyquist_guard(centre_hz * rng.lognormal(0.0, 0.4), sr)
        # A bubble's resonance rises as it nears the surface.
        inst = freq * (1.0 + rng.uniform(0.1, 0.6) * t / (5 * decay))
        chirp = np.sin(2 * np.pi * np.cumsum(inst) / sr) * np.exp(-t / decay)
        dsp.add_at(bubbles, chirp * rng.uniform(0.2, 1.0), int(rng.integers(0, n)))
    return dsp.unit_rms(stream) + rng.uniform(0.3, 1.2) * dsp.unit_rms(bubbles)


_VOWELS: tuple[tuple[float, float, float], ...] = (
    (730.0, 1090.0, 2440.0),  # a
    (530.0, 1840.0, 2480.0),  # e
    (270.0, 2290.0, 3010.0),  # i
    (570.0, 840.0, 2410.0),  # o
    (300.0, 870.0, 2240.0),  # u
    (660.0, 1720.0, 2410.0),  # ae
)


def _speech(rng: np.random.Generator, n: int, sr: int) -> np.ndarray:
    """Formant-synthesised syllables (consonant + vowel) with declining, accented intonation."""
    total_s = n / sr
    female = rng.random() < 0.5
    f0_base = dsp.log_uniform(rng, 170.0, 260.0) if female else dsp.log_uniform(rng, 85.0, 140.0)
    formant_scale = rng.uniform(1.05, 1.2) if female else rng.uniform(0.9, 1.05)
    syllable_rate = rng.uniform(3.5, 6.0)
    question = rng.random() < 0.25
    out = np.zeros(n)
    onset = 0.0
    while onset < total_s - 0.1:
        syllable_s = min(rng.uniform(0.6, 1.4) / syllable_rate, total_s - onset)
        m = int(syllable_s * sr)
        position = onset / total_s
        declination = 1.0 - 0.2 * position
        if question and position > 0.7:
            declination *= 1.0 + 0.6 * (position - 0.7)
        accent = 1.0 + (rng.uniform(0.1, 0.3) if rng.random() < 0.3 else 0.0)
        u = np.linspace(0.0, 1.0, m)
        f0 = f0_base * declination * accent * (1.0 + 0.06 * np.sin(np.pi * u) - 0.04 * u)
        f0 *= 1.0 + 0.01 * rng.standard_normal() + 0.005 * dsp.smooth_random(rng, m, sr, 20.0)
        phase = dsp.phase_from_frequency(f0, sr, rng)
        glottal = dsp.butter(dsp.sawtooth(phase), 1.5 * f0_base, "lowpass", sr, 1)
        glottal += 0.05 * rng.standard_normal(m) * (dsp.sawtooth(phase) > 0)
        vowel = _VOWELS[int(rng.integers(len(_VOWELS)))]
        formants = [f * formant_scale * rng.uniform(0.93, 1.07) for f in vowel]
        syllable = dsp.formant_filter(
            glottal,
            formants,
            [rng.uniform(60, 110), rng.uniform(80, 140), rng.uniform(120, 200)],
            [1.0, 0.7, 0.35],
            sr,
        )
        syllable = (
            dsp.unit_rms(syllable)
            * np.minimum(1.0, u * syllable_s / 0.02)
            * np.minimum(1.0, (1 - u) * syllable_s / 0.04)
        )
        consonant = rng.integers(4)
        if consonant == 1:  # fricative (s, f, sh): hiss that precedes the vowel
            c_n = int(min(rng.uniform(0.04, 0.1), 0.4 * syllable_s) * sr)
            hiss = dsp.butter(
                rng.standard_normal(c_n), dsp.log_uniform(rng, 2500.0, 6000.0), "highpass", sr, 2
            )
            syllable[:c_n] = 0.4 * dsp.unit_rms(hiss) * np.hanning(c_n)
        elif consonant == 2:  # plosive (p, t, k): closure then a short burst
            c_n = int(min(rng.uniform(0.02, 0.05), 0.3 * syllable_s) * sr)
            burst_n = int(0.012 * sr)
            syllable[:c_n] = 0.0
            burst = dsp.butter(
                rng.standard_normal(burst_n),
                dsp.log_uniform(rng, 1000.0, 4000.0),
                "highpass",
                sr,
                2,
            )
            dsp.add_at(
                syllable, 0.6 * burst * np.linspace(1.0, 0.0, burst_n), max(0, c_n - burst_n)
            )
        elif consonant == 3:  # nasal (m, n): low murmur
            c_n = int(min(rng.uniform(0.04, 0.08), 0.4 * syllable_s) * sr)
            syllable[:c_n] = 0.5 * dsp.unit_rms(
                dsp.resonator(glottal[:c_n], 250.0 * formant_scale, 80.0, sr)
            )
        dsp.add_at(out, syllable * rng.uniform(0.5, 1.0), int(onset * sr))
        onset += syllable_s
        if rng.random() < 0.1:
            onset += rng.uniform(0.1, 0.3)  # short pause between words
    return out


_GENERATORS: dict[str, EventGenerator] = {
    "Alarm_bell_ringing": _alarm,
    "Blender": _blender,
    "Cat": _cat,
    "Dishes": _dishes,
    "Dog": _dog,
    "Electric_shaver_toothbrush": _shaver,
    "Frying": _frying,
    "Running_water": _water,
    "Speech": _speech,
    "Vacuum_cleaner": _vacuum,
}


def _check_sample_rate(sample_rate: int) -> None:
    # Below 16 kHz the high partials of alarms, dishes and frying would fold onto each other.
    if sample_rate < MIN_SAMPLE_RATE:
        raise ValueError(
            f"sample_rate {sample_rate} Hz is too low for the generators (>= {MIN_SAMPLE_RATE})"
        )


def generate_event(label: str, rng: np.random.Generator, sample_rate: int) -> np.ndarray:
    """One foreground event of class `label`: float32 mono, natural length, random level."""
    if label not in _GENERATORS:
        raise ValueError(f"unknown class {label!r}; expected one of {list(CLASSES)}")
    _check_sample_rate(sample_rate)
    low, high = EVENT_SECONDS[label]
    n = dsp.n_samples(dsp.log_uniform(rng, low, high), sample_rate)
    audio = _GENERATORS[label](rng, n, sample_rate)
    audio = audio - audio.mean()
    audio = dsp.fade(audio, sample_rate, rng.uniform(*FADE_SECONDS), rng.uniform(*FADE_SECONDS))
    peak = float(np.max(np.abs(audio)))
    if not np.isfinite(peak) or peak <= 0:
        raise RuntimeError(f"generator for {label!r} produced silent or non-finite audio")
    audio *= dsp.db_to_gain(rng.uniform(*EVENT_PEAK_DBFS)) / peak
    return audio.astype(np.float32)


# ----------------------------------------------------------------------------------- background


def generate_background(
    rng: np.random.Generator, duration_s: float, sample_rate: int
) -> np.ndarray:
    """Quiet domestic ambience: coloured room noise, mains hum, faint distant thumps, drift."""
    if duration_s <= 0:
        raise ValueError(f"background duration_s must be positive, got {duration_s}")
    _check_sample_rate(sample_rate)
    sr = sample_rate
    n = dsp.n_samples(duration_s, sr)
    bed = dsp.coloured_noise(rng, n, rng.uniform(1.0, 2.0))
    bed = dsp.butter(bed, dsp.log_uniform(rng, 1500.0, 6000.0), "lowpass", sr, 2)
    air = dsp.butter(rng.standard_normal(n), dsp.log_uniform(rng, 800.0, 3000.0), "lowpass", sr, 2)
    bed = dsp.unit_rms(bed) + dsp.db_to_gain(rng.uniform(-20.0, -8.0)) * dsp.unit_rms(air)
    mains_hz = 50.0 if rng.random() < 0.5 else 60.0
    hum_phase = dsp.phase_from_frequency(np.full(n, mains_hz), sr, rng)
    hum = dsp.harmonic_sum(hum_phase, np.array([1.0, rng.uniform(0.2, 0.8), rng.uniform(0.1, 0.5)]))
    clutter = np.zeros(n)
    for _ in range(rng.poisson(rng.uniform(0.1, 0.6) * duration_s)):
        thump_s = rng.uniform(0.05, 0.4)
        m = int(thump_s * sr)
        thump = dsp.butter(
            rng.standard_normal(m), dsp.log_uniform(rng, 150.0, 600.0), "lowpass", sr, 2
        )
        thump *= np.hanning(m) ** 2 * rng.uniform(0.3, 1.0)
        dsp.add_at(clutter, thump, int(rng.integers(0, n)))
    mix = (
        dsp.unit_rms(bed)
        + dsp.db_to_gain(rng.uniform(-30.0, -15.0)) * dsp.unit_rms(hum)
        + (dsp.db_to_gain(rng.uniform(-12.0, -4.0)) * dsp.unit_rms(clutter) if clutter.any() else 0)
    )
    drift_db = rng.uniform(0.5, 2.0) * dsp.smooth_random(rng, n, sr, rng.uniform(0.05, 0.2))
    mix = mix * 10.0 ** (drift_db / 20.0)
    mix = dsp.fade(mix - mix.mean(), sr, 0.05, 0.05)
    mix *= dsp.db_to_gain(rng.uniform(*BACKGROUND_PEAK_DBFS)) / float(np.max(np.abs(mix)))
    return mix.astype(np.float32)


# ------------------------------------------------------------------------------------ soundbank


def _file_rng(seed: int, half: str, kind: int, class_index: int, index: int) -> np.random.Generator:
    sequence = np.random.SeedSequence(seed, spawn_key=(_HALF_KEY[half], kind, class_index, index))
    return np.random.default_rng(sequence)


def _check_counts(name: str, counts: Mapping[str, int]) -> dict[str, int]:
    if set(counts) != set(HALVES):
        raise ValueError(f"{name} must have exactly the keys {list(HALVES)}, got {sorted(counts)}")
    checked = {}
    for half in HALVES:
        value = counts[half]
        # Every half needs at least one file per folder: Scaper cannot draw from an empty one.
        if isinstance(value, bool) or not isinstance(value, int | np.integer) or value < 1:
            raise ValueError(f"{name}[{half!r}] must be a positive integer, got {value!r}")
        checked[half] = int(value)
    return checked


def generate_synthetic_soundbank(
    out_dir: Path,
    *,
    seed: int,
    files_per_class: Mapping[str, int],
    backgrounds: Mapping[str, int],
    sample_rate: int = SAMPLE_RATE,
) -> dict:
    """Write the procedural soundbank in DESED layout under `out_dir`; return a summary.

    `files_per_class` and `backgrounds` are keyed by half (`train`, `eval`). `out_dir` must be
    absent or empty (the caller wraps it in an atomic directory). The same seed gives
    byte-identical files; the two halves use disjoint seed streams, so no file is shared.
    """
    out_dir = Path(out_dir)
    if isinstance(seed, bool) or not isinstance(seed, int | np.integer) or seed < 0:
        raise ValueError(f"soundbank seed must be a non-negative integer, got {seed!r}")
    per_class = _check_counts("files_per_class", files_per_class)
    per_half_backgrounds = _check_counts("backgrounds", backgrounds)
    if out_dir.exists() and any(out_dir.iterdir()):
        raise ValueError(f"{out_dir}: output directory is not empty; refusing to mix soundbanks")

    started = time.perf_counter()
    summary: dict = {
        "source": "synthetic",
        "seed": int(seed),
        "sample_rate": int(sample_rate),
        "halves": {},
    }
    for half in HALVES:
        half_summary: dict = {"foreground": {}, "background": {}}
        for class_index, label in enumerate(CLASSES):
            class_dir = out_dir / half / "foreground" / label
            class_dir.mkdir(parents=True, exist_ok=True)
            seconds = 0.0
            for index in range(per_class[half]):
                rng = _file_rng(int(seed), half, _FOREGROUND_KEY, class_index, index)
                audio = generate_event(label, rng, sample_rate)
                write_wav(class_dir / f"{label}_{half}_{index:04d}.wav", audio, sample_rate)
                seconds += audio.shape[0] / sample_rate
            half_summary["foreground"][label] = {
                "files": per_class[half],
                "seconds": round(seconds, 3),
            }
            logger.info(
                "synthetic soundbank %s/%s: %d files, %.1f s (%.1f s elapsed)",
                half,
                label,
                per_class[half],
                seconds,
                time.perf_counter() - started,
            )
        background_dir = out_dir / half / "background"
        background_dir.mkdir(parents=True, exist_ok=True)
        seconds = 0.0
        for index in range(per_half_backgrounds[half]):
            rng = _file_rng(int(seed), half, _BACKGROUND_KEY, 0, index)
            audio = generate_background(rng, rng.uniform(*BACKGROUND_SECONDS), sample_rate)
            write_wav(background_dir / f"background_{half}_{index:04d}.wav", audio, sample_rate)
            seconds += audio.shape[0] / sample_rate
        half_summary["background"] = {
            "files": per_half_backgrounds[half],
            "seconds": round(seconds, 3),
        }
        logger.info(
            "synthetic soundbank %s/background: %d files, %.1f s",
            half,
            per_half_backgrounds[half],
            seconds,
        )
        summary["halves"][half] = half_summary
    logger.info(
        "synthetic soundbank written to %s in %.1f s", out_dir, time.perf_counter() - started
    )
    return summary
