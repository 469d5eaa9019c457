"""Spoken digit strings ("three one four") in many voices: chapter 04's speech data.

The recipe (:func:`generate`) speaks random strings of 3-5 digit words with espeak-ng,
in 10 training voices and 3 held-out voices (a voice is a dialect plus a variant, e.g.
``"en-gb+f2"``; every utterance also gets its own speed and pitch), and stores them at
8 kHz as 8-bit mu-law (ITU-T G.711), about 10 KB an utterance. The result ships inside the
package as ``spoken_digits.npz``, so the chapter runs where espeak-ng is absent; the
recipe rebuilds the very same file where it is installed::

    python -m mmcourse.data.spoken_digits   # rewrites the shipped file
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from ..audio import resample
from ..contracts import Choice, Int, contract
from .sounds import SAMPLE_RATE, speech

DIGITS = ("zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine")
TRAIN_VOICES = ("en-us+m1", "en-us+f1", "en-gb+m2", "en-gb+f2", "en-gb-scotland+m3", "en-029+f3",
                "en-gb-x-rp+m4", "en-us-nyc+f5", "en-gb-x-gbclan+m5", "en-us+klatt2")
#: Never heard in training: a dialect-variant pair, a variant and a synthesiser setting the training voices lack.
HELDOUT_VOICES = ("en-gb-x-gbcwmd+f4", "en-029+m7", "en-gb+klatt4")
STORED_RATE = 8000  # telephone bandwidth: digits stay clear, the file stays small
SIZES = {"train": 400, "heldout": 120}
FILE = Path(__file__).resolve().parent / "spoken_digits.npz"
Split = str


@dataclass(frozen=True)
class SpokenDigits:
    """Utterances of one split: ``waves[i]`` (float, 16 kHz) says ``texts[i]`` in ``voices[i]``."""

    waves: list[torch.Tensor]
    texts: list[str]
    voices: list[str]
    sample_rate: int = SAMPLE_RATE

    def __len__(self) -> int:
        return len(self.texts)


def mu_law_encode(wave: np.ndarray, mu: int = 255) -> np.ndarray:
    """[-1, 1] floats -> uint8 codes, finer near zero where speech spends its time (G.711)."""
    y = np.sign(wave) * np.log1p(mu * np.abs(np.clip(wave, -1, 1))) / np.log1p(mu)
    return np.round((y + 1) / 2 * mu).astype(np.uint8)


def mu_law_decode(codes: np.ndarray, mu: int = 255) -> np.ndarray:
    """uint8 codes -> [-1, 1] floats (the inverse of :func:`mu_law_encode`, up to rounding)."""
    y = codes.astype(np.float32) / mu * 2 - 1
    return np.sign(y) * np.expm1(np.abs(y) * np.log1p(mu)) / mu


@contract(n=Int(min=1), seed=Int(min=0))
def generate(n: int, voices: tuple[str, ...], seed: int = 0) -> tuple[list[np.ndarray], list[str], list[str]]:
    """Speak ``n`` random digit strings with espeak-ng, cycling through ``voices``;
    returns mu-law codes at 8 kHz, the texts and the voices.
    """
    rng = np.random.default_rng(seed)
    codes, texts, used = [], [], []
    for i in range(n):
        text = " ".join(DIGITS[d] for d in rng.integers(0, 10, int(rng.integers(3, 6))))
        voice = voices[i % len(voices)]
        wave = speech(text, STORED_RATE, voice=voice, words_per_minute=int(rng.integers(130, 211)),
                      pitch=int(rng.integers(20, 81)))
        codes.append(mu_law_encode(wave.numpy()))
        texts.append(text)
        used.append(voice)
    return codes, texts, used


def write(path: Path = FILE) -> Path:
    """Run the recipe for both splits and write the shipped file."""
    arrays = {}
    for seed, (split, voices) in enumerate([("train", TRAIN_VOICES), ("heldout", HELDOUT_VOICES)]):
        codes, texts, used = generate(SIZES[split], voices, seed=seed)
        arrays[f"{split}_audio"] = np.concatenate(codes)
        arrays[f"{split}_offsets"] = np.cumsum([0] + [len(c) for c in codes])
        arrays[f"{split}_texts"] = np.array(texts)
        arrays[f"{split}_voices"] = np.array(used)
    np.savez_compressed(path, **arrays)
    return path


@contract(split=Choice(("train", "heldout")))
def load_spoken_digits(split: Split = "train") -> SpokenDigits:
    """The shipped utterances of ``split`` (``"train"``: 400 in 10 voices; ``"heldout"``:
    120 in 3 voices never heard in training), as float waveforms at 16 kHz.

    Used in: chapters 04, 07
    """
    with np.load(FILE) as f:
        audio, offsets = f[f"{split}_audio"], f[f"{split}_offsets"]
        texts, voices = [str(t) for t in f[f"{split}_texts"]], [str(v) for v in f[f"{split}_voices"]]
    waves = [resample(torch.from_numpy(mu_law_decode(audio[a:b])), STORED_RATE, SAMPLE_RATE)
             for a, b in zip(offsets[:-1], offsets[1:])]
    return SpokenDigits(waves, texts, voices)


if __name__ == "__main__":
    print(f"wrote {write()}")
