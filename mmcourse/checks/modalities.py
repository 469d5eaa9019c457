"""Checks for chapter 01's exercises: patches, mel filters, frame sampling, late fusion."""

from __future__ import annotations

import torch

from .. import audio, patches, video
from ..models import fusion
from ._util import call, expect_tensor, generator, require_callable
from .registry import register


@register("patches.patchify")
def check_patchify(fn) -> None:
    """``fn(images (B, C, H, W), patch_size) -> (B, N, C*P*P)``, patches row by row."""
    require_callable(fn, "patchify")
    g = generator(11)
    for B, C, H, W, P in [(1, 3, 8, 8, 4), (2, 3, 32, 32, 8), (3, 1, 12, 20, 4), (2, 3, 16, 16, 16)]:
        x = torch.rand(B, C, H, W, generator=g)
        want = patches.patchify(x, P)
        got = expect_tensor(call(fn, x.clone(), P, what="patchify(images, patch_size)"), "patchify(images, patch_size)")
        assert tuple(got.shape) == tuple(want.shape), (
            f"images {tuple(x.shape)}, patch_size {P}: expected shape {tuple(want.shape)}, got {tuple(got.shape)}")
        if not torch.allclose(got, want):
            if torch.allclose(got.sort(-1).values, want.sort(-1).values):
                raise AssertionError("each patch has the right numbers in the wrong order: flatten a patch "
                                     "channel-first, as (C, P, P), so a linear layer equals a strided conv")
            raise AssertionError(f"values differ for images {tuple(x.shape)}, patch_size {P}; hint: "
                                 "reshape to (B, C, H/P, P, W/P, P), then permute to (B, H/P, W/P, C, P, P)")


@register("audio.mel_filterbank")
def check_mel_filterbank(fn) -> None:
    """``fn(n_freqs, n_mels, sample_rate) -> (n_freqs, n_mels)`` triangular HTK-mel filters, no norm."""
    require_callable(fn, "mel_filterbank")
    for n_freqs, n_mels, rate in [(201, 10, 16000), (257, 40, 16000), (129, 20, 8000)]:
        got = expect_tensor(call(fn, n_freqs, n_mels, rate, what="mel_filterbank(...)"),
                            "mel_filterbank(n_freqs, n_mels, sample_rate)").float()
        want = audio.mel_filterbank(n_freqs, n_mels, rate, scale="htk", norm=None)
        assert tuple(got.shape) == (n_freqs, n_mels), f"expected shape ({n_freqs}, {n_mels}); got {tuple(got.shape)}"
        if not torch.allclose(got, want, atol=1e-4):
            peaks, want_peaks = got.argmax(0), want.argmax(0)
            if not torch.equal(peaks, want_peaks):
                raise AssertionError(f"filter peaks sit at bins {peaks[:5].tolist()}..., expected "
                                     f"{want_peaks[:5].tolist()}...: space the n_mels + 2 edges evenly in mels")
            raise AssertionError(f"peaks are right but the slopes differ (max error "
                                 f"{(got - want).abs().max():.3g}); each filter rises from edge m to m+1 "
                                 "and falls to edge m+2, reaching 1 at its centre")


@register("video.sample_segments")
def check_sample_segments(fn) -> None:
    """``fn(num_frames, k) -> list of k ints``: the middle frame of each of k equal segments."""
    require_callable(fn, "sample_segments")
    for n, k in [(8, 8), (24, 8), (10, 4), (100, 3), (7, 1), (31, 6)]:
        got = call(fn, n, k, what=f"sample_segments({n}, {k})")
        assert isinstance(got, (list, tuple)), (f"sample_segments should return a list of ints; got "
                                                f"{type(got).__name__}" + (": did you forget `return`?" if got is None else ""))
        odd = sorted({type(i).__name__ for i in got if type(i) is not int})
        assert not odd, (f"sample_segments({n}, {k}) returned {odd} elements; return Python ints (frame indices): "
                         "use // for the middle of a segment, and int(...) or .tolist() for tensors")
        want = video.sample_segments(n, k, train=False)
        assert len(got) == k, f"sample_segments({n}, {k}) should return {k} indices; got {len(got)}"
        assert got == want, f"sample_segments({n}, {k}) returned {got}, expected {want}"
    try:
        call(fn, 4, 5, what="sample_segments(4, 5)")
    except ValueError:
        return
    raise AssertionError("sample_segments(4, 5) asks for more frames than the clip has: raise ValueError")


@register("fusion.similarity_matrix")
def check_similarity_matrix(fn) -> None:
    """``fn(image_emb (M, D), text_emb (N, D)) -> (M, N)`` cosine similarities."""
    require_callable(fn, "similarity_matrix")
    g = generator(12)
    for M, N, D in [(1, 1, 4), (5, 3, 8), (16, 40, 32)]:
        a, b = torch.randn(M, D, generator=g) * 3, torch.randn(N, D, generator=g)
        want = fusion.similarity_matrix(a, b)
        got = expect_tensor(call(fn, a.clone(), b.clone(), what="similarity_matrix(...)"), "similarity_matrix(image_emb, text_emb)")
        assert tuple(got.shape) == (M, N), f"expected shape ({M}, {N}); got {tuple(got.shape)}"
        if torch.allclose(got, a @ b.T, atol=1e-4) and not torch.allclose(got, want, atol=1e-4):
            raise AssertionError("that is the raw dot product: L2-normalise each embedding first")
        assert torch.allclose(got, want, atol=1e-5), "values differ from the cosine similarity"
    same = expect_tensor(call(fn, a, a.clone(), what="similarity_matrix(a, a)"), "similarity_matrix(a, a)")
    assert (same.diagonal() - 1).abs().max() < 1e-5, "every vector has cosine 1 with itself"
