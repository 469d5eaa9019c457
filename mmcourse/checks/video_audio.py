"""Checks for chapter 04's exercises: video token counts, divided attention's reshapes,
word error rate, SpecAugment's masks."""

from __future__ import annotations

import torch

from .. import video
from ..metrics.speech import word_error_rate
from ._util import call, expect_float, expect_int, expect_tensor, generator, require_callable
from .registry import register


@register("video.count_tokens")
def check_count_tokens(fn) -> None:
    """``fn(frames, height, width, patch_size, tubelet) -> int`` tokens; ValueError when they do not divide."""
    require_callable(fn, "count_tokens")
    for args in [(8, 16, 16, 4, 1), (8, 16, 16, 4, 2), (16, 224, 224, 16, 2), (32, 224, 224, 16, 1), (4, 12, 20, 4, 4)]:
        got = expect_int(call(fn, *args, what=f"count_tokens{args}"), f"count_tokens{args}")
        want = video.video_tokens(*args)
        assert got == want, (f"count_tokens{args}: expected {want}, got {got}; hint: (frames / tubelet) x "
                             "(height / patch_size) x (width / patch_size)")
    for args in [(8, 16, 16, 4, 3), (8, 16, 18, 4, 1), (8, 18, 16, 4, 1)]:  # frames, then width, then height
        try:
            call(fn, *args, what=f"count_tokens{args}")
        except ValueError:
            continue
        raise AssertionError(f"count_tokens{args} should raise ValueError: the tubelet or patch does not divide")


def _divided_reference(x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    B, T, N, D = x.shape
    return x.transpose(1, 2).reshape(B * N, T, D), x.reshape(B * T, N, D)


@register("video.divided_reshapes")
def check_divided_reshapes(fn) -> None:
    """``fn(x (B, T, N, D)) -> (time sequences (B*N, T, D), space sequences (B*T, N, D))``."""
    require_callable(fn, "divided_reshapes")
    g = generator(4)
    for shape in [(1, 4, 9, 8), (2, 8, 16, 4), (3, 2, 5, 6)]:
        x = torch.randn(*shape, generator=g)
        got = call(fn, x.clone(), what="divided_reshapes(x)")
        assert isinstance(got, (tuple, list)) and len(got) == 2, (
            "divided_reshapes should return two tensors: (time sequences, space sequences)")
        want_time, want_space = _divided_reference(x)
        B, T, N, D = shape
        got_time = expect_tensor(got[0], "the time sequences", shape=(B * N, T, D))
        got_space = expect_tensor(got[1], "the space sequences", shape=(B * T, N, D))
        if not torch.equal(got_time, want_time):
            raise AssertionError("the time sequences have the right shape but mix up tokens: row b*N + n must hold "
                                 "patch n of clip b in every frame; move the patch axis next to the batch first, "
                                 "x.transpose(1, 2)")
        assert torch.equal(got_space, want_space), "space sequence b*T + t must hold frame t of clip b's N patches"


@register("speech.wer")
def check_wer(fn) -> None:
    """``fn(references, hypotheses) -> float``: corpus word error rate."""
    require_callable(fn, "wer")
    cases = [(["three one four"], ["three one four"]), (["three one four"], ["three four"]),
             (["one"], ["two three"]), (["nine eight", "seven six five four"], ["nine", "seven six five four three"]),
             (["a b c d"], [""]), (["a b c", "d e"], ["a x c", "e d"]),
             ([" nine  one one"], ["nine one  one "])]  # Whisper's leading space, a double space: words, not ""
    for refs, hyps in cases:
        got = expect_float(call(fn, refs, hyps, what=f"wer({refs}, {hyps})"), "wer(references, hypotheses)")
        want = word_error_rate(refs, hyps)
        if abs(got - want) > 1e-9:
            per_pair = sum(word_error_rate([r], [h]) for r, h in zip(refs, hyps)) / len(refs)
            hint = ("you averaged per-utterance rates; sum the edits over all pairs, then divide by all reference "
                    "words" if abs(got - per_pair) < 1e-9 else "split on any whitespace with str.split(): "
                    "split(' ') turns a leading or doubled space into an empty word" if "  " in "".join(refs + hyps)
                    or any(s.startswith(" ") or s.endswith(" ") for s in refs + hyps) else "count substitutions, "
                    "deletions and insertions by edit distance over words (not characters)")
            raise AssertionError(f"wer({refs}, {hyps}): expected {want:.4f}, got {got:.4f}; {hint}")


@register("audio.spec_mask")
def check_spec_mask(fn) -> None:
    """``fn(features (M, T), f0, f, t0, t) -> copy with rows f0:f0+f and columns t0:t0+t set to the mean``."""
    require_callable(fn, "mask_spectrogram")
    g = generator(7)
    for f0, f, t0, t in [(3, 4, 10, 5), (0, 0, 0, 0), (70, 10, 290, 10), (0, 80, 0, 1)]:
        x = torch.randn(80, 300, generator=g)
        original = x.clone()
        got = expect_tensor(call(fn, x, f0, f, t0, t, what=f"mask_spectrogram(x, {f0}, {f}, {t0}, {t})"),
                            "mask_spectrogram(...)", shape=(80, 300))
        assert torch.equal(x, original), "mask_spectrogram must not change its input: clone it first"
        assert got.data_ptr() != x.data_ptr(), ("mask_spectrogram returned its input itself: return a masked copy "
                                                "(features.clone()), even when nothing is masked")
        want = original.clone()
        want[f0:f0 + f, :] = original.mean()
        want[:, t0:t0 + t] = original.mean()
        if not torch.allclose(got, want):
            raise AssertionError(f"mask ({f0}, {f}, {t0}, {t}): values differ; fill with the mean of the *original* "
                                 "features, mel rows f0:f0+f and frame columns t0:t0+t")
