"""Sounds with compositional captions, for audio-text contrastive learning (chapter 04).

Each one-second clip holds one sound event described by four attributes:

* pitch   -- low (about 300 Hz) or high (about 1500 Hz);
* contour -- steady, rising or falling (the pitch glides over an octave and a half);
* texture -- a pure tone (a sine), buzzing (six harmonics) or hissing (noise in a band around
  the pitch, about 15% of it wide: the same width in octaves at either pitch);
* timing  -- at the start, in the middle or at the end of the clip.

That makes 54 sounds ("a high rising buzzing sound at the end"). Three (pitch, contour,
texture) combinations never occur in ``split="train"`` at any timing (:data:`HOLDOUT_SOUNDS`,
9 of the 54 sounds). Every word, and every *pair* of words, still occurs in training (the
three share no pair), so naming them needs composition, as chapter 02's held-out pairs did.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from typing import Literal

import numpy as np
import torch

from ..contracts import Choice, Instance, Int, contract

PITCHES = {"low": 300.0, "high": 1500.0}
CONTOURS = ("steady", "rising", "falling")
TEXTURES = ("pure", "buzzing", "hissing")
TIMINGS = {"at the start": 0.2, "in the middle": 0.5, "at the end": 0.8}  # event centre, seconds
HOLDOUT_SOUNDS: tuple[tuple[str, str, str], ...] = (
    ("low", "rising", "buzzing"), ("high", "falling", "pure"), ("low", "steady", "hissing"))
SOUND_CLASSES: tuple[tuple[str, str, str, str], ...] = tuple(itertools.product(PITCHES, CONTOURS, TEXTURES, TIMINGS))
CAPTION_TEMPLATES = ("a {p} {c} {x} sound {t}", "{t}, a {x} {p} sound, {c}", "a {c} {x} {p} sound {t}")
SAMPLE_RATE = 16000
Split = Literal["train", "holdout", "all"]


@dataclass(frozen=True)
class SoundCaptions:
    """``waves`` (n, samples) at 16 kHz, a caption each, and ``labels`` indexing :data:`SOUND_CLASSES`."""

    waves: torch.Tensor
    captions: list[str]
    labels: torch.Tensor

    def __len__(self) -> int:
        return len(self.captions)


@contract(sound=Instance(tuple, "a (pitch, contour, texture, timing) tuple, e.g. SOUND_CLASSES[0]"))
def class_name(sound: tuple[str, str, str, str]) -> str:
    """The canonical caption of one of the 54 sounds (the zero-shot prompt's class name).

    Used in: chapter 04
    """
    if sound not in SOUND_CLASSES:
        raise ValueError(f"sound must be one of SOUND_CLASSES, e.g. {SOUND_CLASSES[0]}; got {sound!r}")
    p, c, x, t = sound
    return CAPTION_TEMPLATES[0].format(p=p, c=c, x=x, t=t)


def _event(pitch: float, contour: str, texture: str, n: int, rng: np.random.Generator) -> np.ndarray:
    t = np.arange(n) / SAMPLE_RATE
    glide = {"steady": 0.0, "rising": 1.5, "falling": -1.5}[contour] * (t / t[-1] - 0.5)  # octaves, +-3/4
    freq = pitch * 2.0 ** glide  # instantaneous frequency (Hz)
    phase = 2 * np.pi * np.cumsum(freq) / SAMPLE_RATE + rng.uniform(0, 2 * np.pi)
    if texture == "pure":
        wave = np.sin(phase)
    elif texture == "buzzing":
        wave = sum(np.sin(k * phase) / k for k in range(1, 7)) / 1.5
    else:  # hissing: low-passed noise shifted up to the pitch (amplitude modulation)
        # a moving average of `taps` samples passes up to about fs / taps: a band whose width is a fixed share of
        # the pitch (~225 Hz around 1500 Hz, ~45 Hz around 300 Hz), so a low hiss glides as visibly as a high one
        taps = int(round(SAMPLE_RATE / (0.17 * pitch)))
        noise = np.convolve(rng.standard_normal(n), np.ones(taps) / np.sqrt(taps), mode="same")
        wave = noise * np.sin(phase)
    return wave * np.hanning(n)  # fade in and out


@contract(n=Int(min=1), split=Choice(("train", "holdout", "all")), seed=Int(min=0))
def make_sound_captions(n: int, split: Split = "train", *, seed: int = 0) -> SoundCaptions:
    """``n`` one-second clips of random sounds with a caption each, from a random template.
    ``"train"`` leaves out :data:`HOLDOUT_SOUNDS`, ``"holdout"`` has only them, ``"all"`` has all 54.

    Used in: chapter 04
    """
    rng = np.random.default_rng(seed)
    held = [i for i, s in enumerate(SOUND_CLASSES) if s[:3] in HOLDOUT_SOUNDS]
    pool = {"train": [i for i in range(len(SOUND_CLASSES)) if i not in held], "holdout": held,
            "all": list(range(len(SOUND_CLASSES)))}[split]
    labels = rng.choice(pool, size=n)
    waves = np.zeros((n, SAMPLE_RATE), np.float32)
    captions = []
    for row, label in enumerate(labels):
        p, c, x, t = SOUND_CLASSES[label]
        length = int(SAMPLE_RATE * rng.uniform(0.25, 0.35))
        centre = int(SAMPLE_RATE * (TIMINGS[t] + rng.uniform(-0.05, 0.05)))
        start = min(max(centre - length // 2, 0), SAMPLE_RATE - length)
        event = _event(PITCHES[p] * 2 ** rng.uniform(-0.5, 0.5), c, x, length, rng)  # +-half an octave
        waves[row, start:start + length] = rng.uniform(0.3, 0.6) * event
        waves[row] += 0.01 * rng.standard_normal(SAMPLE_RATE)  # a little background noise
        captions.append(CAPTION_TEMPLATES[rng.integers(len(CAPTION_TEMPLATES))].format(p=p, c=c, x=x, t=t))
    return SoundCaptions(torch.from_numpy(waves), captions, torch.from_numpy(labels).long())
