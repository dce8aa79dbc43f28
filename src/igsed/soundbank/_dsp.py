"""Small signal-processing building blocks for the procedural soundbank.

Everything is vectorised numpy/scipy: the default soundbank (hundreds of files) has to be
generated in a few seconds on one core, so no per-sample Python loops.
"""

from __future__ import annotations

import numpy as np
from scipy import fft, signal


def n_samples(duration_s: float, sample_rate: int) -> int:
    return max(1, int(round(duration_s * sample_rate)))


def nyquist_guard(freq_hz: float | np.ndarray, sample_rate: int) -> float | np.ndarray:
    """Clip frequencies below 0.45 * sample_rate so every generator works at any rate."""
    return np.minimum(freq_hz, 0.45 * sample_rate)


def log_uniform(rng: np.random.Generator, low: float, high: float) -> float:
    return float(np.exp(rng.uniform(np.log(low), np.log(high))))


def smooth_random(rng: np.random.Generator, n: int, sample_rate: int, rate_hz: float) -> np.ndarray:
    """Zero-mean, unit-std random curve whose fluctuations happen at about `rate_hz`."""
    n_knots = max(4, int(np.ceil(n / sample_rate * rate_hz)) + 3)
    knots = rng.standard_normal(n_knots)
    positions = np.linspace(0.0, n_knots - 3, n)
    curve = np.interp(positions, np.arange(n_knots), knots)
    # Linear interpolation leaves corners at the knots; one cheap moving average rounds them.
    width = max(1, int(sample_rate / rate_hz / 4))
    if width > 1 and n > width:
        # Moving average through a cumulative sum: O(n) whatever the width.
        padded = np.pad(curve, (width // 2, width - width // 2), mode="edge")
        csum = np.concatenate([[0.0], np.cumsum(padded)])
        curve = (csum[width:] - csum[:-width])[:n] / width
    std = curve.std()
    return (curve - curve.mean()) / std if std > 0 else curve - curve.mean()


def coloured_noise(rng: np.random.Generator, n: int, exponent: float) -> np.ndarray:
    """Noise with power spectrum ~ 1 / f**exponent (0 white, 1 pink, 2 brown), unit std."""
    # An FFT length with small prime factors only: arbitrary lengths can be 10-100x slower.
    n_fft = fft.next_fast_len(n, real=True)
    spectrum = fft.rfft(rng.standard_normal(n_fft))
    freqs = np.arange(spectrum.shape[0], dtype=np.float64)
    freqs[0] = 1.0
    spectrum *= freqs ** (-exponent / 2.0)
    spectrum[0] = 0.0
    noise = fft.irfft(spectrum, n_fft)[:n]
    std = noise.std()
    return noise / std if std > 0 else noise


def butter(
    x: np.ndarray, cutoff_hz: float | tuple[float, float], btype: str, sample_rate: int, order: int
) -> np.ndarray:
    """Zero-state Butterworth filter (lowpass / highpass / bandpass) as second-order sections."""
    if isinstance(cutoff_hz, tuple):
        low = float(nyquist_guard(cutoff_hz[0], sample_rate))
        high = float(nyquist_guard(cutoff_hz[1], sample_rate))
        cutoff: float | list[float] = [min(low, 0.98 * high), high]
    else:
        cutoff = float(nyquist_guard(cutoff_hz, sample_rate))
    sos = signal.butter(order, cutoff, btype=btype, fs=sample_rate, output="sos")
    return signal.sosfilt(sos, x)


def resonator(x: np.ndarray, freq_hz: float, bandwidth_hz: float, sample_rate: int) -> np.ndarray:
    """Two-pole resonance with unit gain at its centre (one formant of a source-filter model)."""
    freq = float(nyquist_guard(freq_hz, sample_rate))
    radius = np.exp(-np.pi * bandwidth_hz / sample_rate)
    theta = 2.0 * np.pi * freq / sample_rate
    a = [1.0, -2.0 * radius * np.cos(theta), radius * radius]
    # Normalising by the magnitude at the centre keeps formants comparable whatever their width.
    _, response = signal.freqz([1.0], a, worN=[theta])
    gain = 1.0 / max(abs(response[0]), 1e-12)
    return signal.lfilter([gain], a, x)


def formant_filter(
    x: np.ndarray,
    formants_hz: list[float],
    bandwidths_hz: list[float],
    gains: list[float],
    sample_rate: int,
) -> np.ndarray:
    """Parallel bank of resonators: a vowel-like spectral envelope."""
    out = np.zeros_like(x)
    for freq, bandwidth, gain in zip(formants_hz, bandwidths_hz, gains, strict=True):
        if freq < 0.45 * sample_rate:
            out += gain * resonator(x, freq, bandwidth, sample_rate)
    return out


def phase_from_frequency(
    freq_hz: np.ndarray, sample_rate: int, rng: np.random.Generator
) -> np.ndarray:
    """Running phase (cycles) of an oscillator following the instantaneous frequency curve."""
    return rng.uniform(0.0, 1.0) + np.cumsum(freq_hz) / sample_rate


def sawtooth(phase_cycles: np.ndarray) -> np.ndarray:
    return 2.0 * (phase_cycles % 1.0) - 1.0


def pulse(phase_cycles: np.ndarray, duty: float) -> np.ndarray:
    wave = np.where((phase_cycles % 1.0) < duty, 1.0, 0.0)
    return wave - wave.mean()


def harmonic_sum(phase_cycles: np.ndarray, amplitudes: np.ndarray) -> np.ndarray:
    """sum_k amplitudes[k] * sin(2 pi (k + 1) phase); amplitudes (K,) or (K, n) time-varying."""
    out = np.zeros(phase_cycles.shape[0])
    angle = 2.0 * np.pi * phase_cycles
    for k in range(amplitudes.shape[0]):
        out += amplitudes[k] * np.sin((k + 1) * angle)
    return out


def fade(x: np.ndarray, sample_rate: int, fade_in_s: float, fade_out_s: float) -> np.ndarray:
    """Raised-cosine fade in and out, so events start and stop without clicks."""
    out = x.copy()
    n = out.shape[0]
    for length, edge in (
        (int(fade_in_s * sample_rate), "in"),
        (int(fade_out_s * sample_rate), "out"),
    ):
        length = min(length, n // 2)
        if length < 2:
            continue
        ramp = 0.5 - 0.5 * np.cos(np.linspace(0.0, np.pi, length))
        if edge == "in":
            out[:length] *= ramp
        else:
            out[-length:] *= ramp[::-1]
    return out


def gate(
    n: int, sample_rate: int, period_s: float, duty: float, ramp_s: float, offset_s: float = 0.0
) -> np.ndarray:
    """Periodic on/off envelope with short raised-cosine edges (beeping)."""
    t = np.arange(n) / sample_rate + offset_s
    position = (t % period_s) / period_s
    on_s = duty * period_s
    time_in = position * period_s
    rise = np.clip(time_in / ramp_s, 0.0, 1.0)
    fall = np.clip((on_s - time_in) / ramp_s, 0.0, 1.0)
    edge = np.minimum(rise, fall)
    return np.where(time_in < on_s, 0.5 - 0.5 * np.cos(np.pi * edge), 0.0)


def decaying_partials(
    n: int,
    sample_rate: int,
    freqs_hz: np.ndarray,
    amplitudes: np.ndarray,
    decays_s: np.ndarray,
    rng: np.random.Generator,
) -> np.ndarray:
    """Sum of exponentially decaying sinusoids (a struck object's modes)."""
    t = np.arange(n) / sample_rate
    out = np.zeros(n)
    phases = rng.uniform(0.0, 2.0 * np.pi, freqs_hz.shape[0])
    for freq, amp, decay, phase in zip(freqs_hz, amplitudes, decays_s, phases, strict=True):
        if freq >= 0.45 * sample_rate:
            continue
        out += amp * np.exp(-t / decay) * np.sin(2.0 * np.pi * freq * t + phase)
    return out


def add_at(target: np.ndarray, source: np.ndarray, start: int) -> None:
    """target[start:start + len(source)] += source, clipped to the target's end."""
    if start >= target.shape[0]:
        return
    stop = min(target.shape[0], start + source.shape[0])
    target[start:stop] += source[: stop - start]


def rms(x: np.ndarray) -> float:
    return float(np.sqrt(np.mean(np.square(x)))) if x.size else 0.0


def unit_rms(x: np.ndarray) -> np.ndarray:
    value = rms(x)
    return x / value if value > 0 else x


def db_to_gain(db: float) -> float:
    return float(10.0 ** (db / 20.0))
