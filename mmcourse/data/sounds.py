"""Sounds made on the spot: tones, chirps, noise bursts, clicks, and speech via espeak-ng.

No audio ships inside Python packages, so the course synthesises it. Speech comes from
the ``espeak-ng`` program (Debian/Ubuntu: ``apt-get install espeak-ng``; conda:
``espeak-ng``); without it, :func:`speech` raises and chapters fall back to synthetic sounds.
"""

from __future__ import annotations

import io
import shutil
import subprocess
import wave as wavefile

import numpy as np
import torch

from ..audio import _check_rate, resample

SAMPLE_RATE = 16000


def _time(seconds: float, sample_rate: int) -> torch.Tensor:
    _check_rate(sample_rate)
    if not seconds > 0:
        raise ValueError(f"seconds must be positive; got {seconds!r}")
    return torch.arange(int(round(seconds * sample_rate)), dtype=torch.float64) / sample_rate


def tone(freq: float, seconds: float = 1.0, sample_rate: int = SAMPLE_RATE, amplitude: float = 0.5
         ) -> torch.Tensor:
    """A pure sine wave.

    Used in: chapter 01
    """
    t = _time(seconds, sample_rate)
    if not 0 < freq < sample_rate / 2:
        raise ValueError(f"freq must be in (0, sample_rate/2 = {sample_rate / 2}); got {freq}")
    return (amplitude * torch.sin(2 * torch.pi * freq * t)).float()


def chirp(f0: float, f1: float, seconds: float = 1.0, sample_rate: int = SAMPLE_RATE,
          amplitude: float = 0.5) -> torch.Tensor:
    """A sine sweeping linearly from ``f0`` to ``f1`` Hz.

    Used in: chapter 01
    """
    t = _time(seconds, sample_rate)
    phase = 2 * torch.pi * (f0 * t + (f1 - f0) * t**2 / (2 * seconds))
    return (amplitude * torch.sin(phase)).float()


def noise_burst(seconds: float = 1.0, start: float = 0.3, length: float = 0.3,
                sample_rate: int = SAMPLE_RATE, amplitude: float = 0.3, seed: int = 0) -> torch.Tensor:
    """Silence with a burst of white noise from ``start`` for ``length`` seconds.

    Used in: chapter 01
    """
    t = _time(seconds, sample_rate)
    g = torch.Generator().manual_seed(seed)
    noise = amplitude * torch.randn(t.numel(), generator=g, dtype=torch.float64)
    return torch.where((t >= start) & (t < start + length), noise, torch.zeros_like(t)).float()


def clicks(times: list[float], seconds: float = 1.0, sample_rate: int = SAMPLE_RATE,
           amplitude: float = 0.8) -> torch.Tensor:
    """Single-sample clicks at the given times: broadband, so a spectrogram shows vertical lines.

    Used in: chapter 01
    """
    t = _time(seconds, sample_rate)
    out = torch.zeros_like(t)
    for when in times:
        i = int(round(when * sample_rate))
        if not 0 <= i < out.numel():
            raise ValueError(f"click time {when} s is outside the {seconds} s clip")
        out[i] = amplitude
    return out.float()


def espeak_available() -> bool:
    """Whether the ``espeak-ng`` program is installed.

    Used in: chapter 01
    """
    return shutil.which("espeak-ng") is not None


def read_wav(data: bytes) -> tuple[np.ndarray, int]:
    """16-bit PCM WAV bytes -> (int16 samples, sample rate). Tolerates the streaming
    header espeak-ng writes to stdout (its length fields are placeholders).
    """
    with wavefile.open(io.BytesIO(data)) as w:
        if w.getsampwidth() != 2 or w.getnchannels() != 1:
            raise ValueError("expected 16-bit mono WAV")
        rate = w.getframerate()
        frames = w.readframes(w.getnframes())
    return np.frombuffer(frames, dtype="<i2").copy(), rate


def speech(text: str, sample_rate: int = SAMPLE_RATE, voice: str = "en", words_per_minute: int = 150
           ) -> torch.Tensor:
    """Speak ``text`` with espeak-ng; float waveform in [-1, 1] at ``sample_rate``.

    Used in: chapter 01
    """
    if not isinstance(text, str) or not text.strip():
        raise ValueError("text must be a non-empty string")
    if not espeak_available():
        raise RuntimeError("espeak-ng is not installed (apt-get install espeak-ng); "
                           "use the synthetic sounds in mmcourse.data.sounds instead")
    out = subprocess.run(["espeak-ng", "--stdout", "-v", voice, "-s", str(words_per_minute), text],
                         capture_output=True, check=True, timeout=30).stdout
    pcm, rate = read_wav(out)
    wave = torch.from_numpy(pcm.astype(np.float32) / 32768.0)  # int16 -> [-1, 1)
    return resample(wave, rate, sample_rate)
