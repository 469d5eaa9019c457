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
from ..contracts import Float, Instance, Int, Text, contract

SAMPLE_RATE = 16000


def _time(seconds: float, sample_rate: int) -> torch.Tensor:
    _check_rate(sample_rate)
    if not seconds > 0:
        raise ValueError(f"seconds must be positive; got {seconds!r}")
    return torch.arange(int(round(seconds * sample_rate)), dtype=torch.float64) / sample_rate


@contract(freq=Float(min=0, open_min=True), seconds=Float(min=0, open_min=True), sample_rate=Int(min=1),
          amplitude=Float(min=0, max=1))
def tone(freq: float, seconds: float = 1.0, sample_rate: int = SAMPLE_RATE, amplitude: float = 0.5
         ) -> torch.Tensor:
    """A pure sine wave.

    Used in: chapter 01
    """
    t = _time(seconds, sample_rate)
    if not 0 < freq < sample_rate / 2:
        raise ValueError(f"freq must be in (0, sample_rate/2 = {sample_rate / 2}); got {freq}")
    return (amplitude * torch.sin(2 * torch.pi * freq * t)).float()


@contract(f0=Float(min=0, open_min=True), f1=Float(min=0, open_min=True), seconds=Float(min=0, open_min=True),
          sample_rate=Int(min=1), amplitude=Float(min=0, max=1))
def chirp(f0: float, f1: float, seconds: float = 1.0, sample_rate: int = SAMPLE_RATE,
          amplitude: float = 0.5) -> torch.Tensor:
    """A sine sweeping linearly from ``f0`` to ``f1`` Hz.

    Used in: chapter 01
    """
    t = _time(seconds, sample_rate)
    phase = 2 * torch.pi * (f0 * t + (f1 - f0) * t**2 / (2 * seconds))
    return (amplitude * torch.sin(phase)).float()


@contract(seconds=Float(min=0, open_min=True), start=Float(min=0), length=Float(min=0, open_min=True),
          sample_rate=Int(min=1), amplitude=Float(min=0, max=1), seed=Int(min=0))
def noise_burst(seconds: float = 1.0, start: float = 0.3, length: float = 0.3,
                sample_rate: int = SAMPLE_RATE, amplitude: float = 0.3, seed: int = 0) -> torch.Tensor:
    """Silence with a burst of white noise from ``start`` for ``length`` seconds.

    Used in: chapter 01
    """
    t = _time(seconds, sample_rate)
    g = torch.Generator().manual_seed(seed)
    noise = amplitude * torch.randn(t.numel(), generator=g, dtype=torch.float64)
    return torch.where((t >= start) & (t < start + length), noise, torch.zeros_like(t)).float()


@contract(times=Instance((list, tuple), "a list of times in seconds, e.g. [0.2, 0.5]"),
          seconds=Float(min=0, open_min=True), sample_rate=Int(min=1), amplitude=Float(min=0, max=1))
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


@contract()
def espeak_available() -> bool:
    """Whether the ``espeak-ng`` program is installed.

    Used in: chapters 01, 04
    """
    return shutil.which("espeak-ng") is not None


@contract(data=Instance(bytes, "the bytes of a WAV file"))
def read_wav(data: bytes) -> tuple[np.ndarray, int]:
    """16-bit PCM WAV bytes -> (int16 samples, sample rate). Tolerates the streaming
    header espeak-ng writes to stdout (its length fields are placeholders).
    """
    try:
        with wavefile.open(io.BytesIO(data)) as w:
            width, channels, rate = w.getsampwidth(), w.getnchannels(), w.getframerate()
            frames = w.readframes(w.getnframes())
    except (wavefile.Error, EOFError) as err:
        raise ValueError(f"data is not a readable WAV file ({err or 'it ends too early'})") from None
    if width != 2 or channels != 1:
        raise ValueError(f"data must be a 16-bit mono WAV; it has {8 * width}-bit samples and {channels} channels")
    return np.frombuffer(frames, dtype="<i2").copy(), rate


@contract(text=Text(), sample_rate=Int(min=1), voice=Text(), words_per_minute=Int(min=80, max=450),
          pitch=Int(min=0, max=99))
def speech(text: str, sample_rate: int = SAMPLE_RATE, voice: str = "en", words_per_minute: int = 150,
           pitch: int = 50) -> torch.Tensor:
    """Speak ``text`` with espeak-ng; float waveform in [-1, 1] at ``sample_rate``.
    ``voice`` is a language/dialect with an optional variant (``"en-gb+f2"``); ``pitch``
    0-99 (espeak-ng's ``-p``).

    Used in: chapters 01, 04
    """
    if not espeak_available():
        raise RuntimeError("espeak-ng is not installed (apt-get install espeak-ng); "
                           "use the synthetic sounds in mmcourse.data.sounds instead")
    out = subprocess.run(["espeak-ng", "--stdout", "-v", voice, "-s", str(words_per_minute), "-p", str(pitch),
                          text],
                         capture_output=True, check=True, timeout=30).stdout
    pcm, rate = read_wav(out)
    wave = torch.from_numpy(pcm.astype(np.float32) / 32768.0)  # int16 -> [-1, 1)
    return resample(wave, rate, sample_rate)
