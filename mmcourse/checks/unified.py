"""Checks for chapter 06's exercises: nearest-code lookup with the straight-through estimator,
image ids at an offset, the modality logit mask, an interleaved sequence's labels, guided logits."""

from __future__ import annotations

import torch

from ..models.vq import nearest_codes
from ..sampling import guided_logits, modality_mask
from ..sequences import IGNORE_INDEX, task_example
from ..tokens import MultimodalVocabulary, unified_text_tokenizer
from ._util import call, expect_tensor, generator, require_callable
from .registry import register


def _vocabularies() -> list[MultimodalVocabulary]:
    text = unified_text_tokenizer()
    return [MultimodalVocabulary(text, 128, 64), MultimodalVocabulary(text, 10, 4)]


@register("vq.quantise")
def check_quantise(fn) -> None:
    """``fn(z (B, D, H, W), codebook (K, D)) -> (z_q (B, D, H, W), codes (B, H, W))`` with the
    straight-through gradient."""
    require_callable(fn, "quantise")
    g = generator(9)
    for B, D, H, K in ((2, 4, 3, 10), (1, 8, 4, 32)):
        z = torch.randn(B, D, H, H, generator=g, requires_grad=True)
        codebook = torch.randn(K, D, generator=g)
        got = call(fn, z, codebook.clone(), what="quantise(z, codebook)")
        assert isinstance(got, (tuple, list)) and len(got) == 2, "quantise should return two things: (z_q, codes)"
        z_q, codes = expect_tensor(got[0], "z_q", shape=(B, D, H, H)), expect_tensor(got[1], "codes", shape=(B, H, H))
        want = nearest_codes(z.detach(), codebook)
        assert torch.equal(codes.long(), want), ("codes are not the nearest codebook rows; hint: the distance is "
                                                 "between each position's D numbers (channels), so move D last "
                                                 "(permute(0, 2, 3, 1)) before torch.cdist, then argmin over K")
        assert torch.allclose(z_q.detach(), codebook[want].permute(0, 3, 1, 2), atol=1e-5), (
            "z_q should hold the chosen codebook vectors, back in (B, D, H, W) order")
        upstream = torch.randn(B, D, H, H, generator=g)
        assert z_q.requires_grad, ("z_q carries no gradient back to z; hint: straight-through is "
                                   "z + (e - z).detach(), so the forward value is e and the gradient goes to z")
        (z_q * upstream).sum().backward()
        assert z.grad is not None and torch.allclose(z.grad, upstream), (
            "the gradient reaching z should equal the gradient at z_q (straight-through): z + (e - z).detach()")


@register("unified.image_ids")
def check_image_ids(fn) -> None:
    """``fn(codes (h, w), text_size) -> ids``: <boi>, the codes shifted by the offset, <eoi>."""
    require_callable(fn, "image_ids")
    g = generator(10)
    for vocab in _vocabularies():
        side = int(vocab.tokens_per_image**0.5)
        codes = torch.randint(0, vocab.codebook_size, (side, side), generator=g)
        got = call(fn, codes.clone(), vocab.text_size, what=f"image_ids(codes, text_size={vocab.text_size})")
        if isinstance(got, torch.Tensor):
            raise AssertionError("image_ids returned a tensor; return a Python list of ints (e.g. "
                                 "codes.flatten().tolist()): a document's ids are lists joined with +, and a tensor "
                                 "would add element-wise instead")
        assert isinstance(got, list) and all(type(i) is int for i in got), (
            f"image_ids should return a list of Python ints; got {type(got).__name__}"
            + (f" holding {sorted({type(i).__name__ for i in got})}" if isinstance(got, (list, tuple)) else ""))
        want = vocab.encode_image(codes)
        assert len(got) == len(want), (f"expected {len(want)} ids (<boi>, {vocab.tokens_per_image} codes, <eoi>); "
                                       f"got {len(got)}")
        assert got[0] == vocab.boi and got[-1] == vocab.eoi, (
            f"the span should open with <boi> = text_size ({vocab.boi}) and close with <eoi> = text_size + 1 "
            f"({vocab.eoi}); got {got[0]} ... {got[-1]}")
        assert got == want, ("the codes are not at the right ids; hint: code c has id text_size + 2 + c (after the "
                             "text ids and the two specials), read row by row")


@register("unified.modality_mask")
def check_modality_mask(fn) -> None:
    """``fn(vocab, codes_so_far (B,)) -> (B, V)`` bool mask of allowed next ids."""
    require_callable(fn, "allowed_ids")
    for vocab in _vocabularies():
        N = vocab.tokens_per_image
        state = torch.tensor([-1, 0, N // 2, N - 1, N])
        got = expect_tensor(call(fn, vocab, state.clone(), what="allowed_ids(vocab, codes_so_far)"), "the mask",
                            shape=(5, len(vocab)))
        assert got.dtype == torch.bool, (
            f"the mask is {got.dtype}; return a torch.bool mask: the sampler writes logits.masked_fill(~mask, -inf), "
            "and ~ on a 0/1 integer tensor gives -1 and -2, not the opposite mask")
        want = modality_mask(vocab, state)
        names = ["outside an image", "right after <boi>", "half-way through an image", "one code to go",
                 "with the image full"]
        for row, name in enumerate(names):
            assert torch.equal(got[row].bool(), want[row]), (
                f"wrong mask {name}: allowed {int(got[row].sum())} ids, expected {int(want[row].sum())}; hint: inside "
                "an unfinished image only codes; once it holds tokens_per_image codes only <eoi>; outside, every "
                "text id but <pad> and <s>, plus <boi>")


@register("unified.caption_labels")
def check_caption_labels(fn) -> None:
    """``fn(vocab, codes, caption) -> (ids, labels)`` for ``<s> <boi> codes <eoi> describe : caption </s>``."""
    require_callable(fn, "caption_example")
    g = generator(11)
    for vocab, caption in zip(_vocabularies(), ("a red circle", "a small blue square on the left")):
        side = int(vocab.tokens_per_image**0.5)
        codes = torch.randint(0, vocab.codebook_size, (side, side), generator=g)
        got = call(fn, vocab, codes.clone(), caption, what="caption_example(vocab, codes, caption)")
        assert isinstance(got, (tuple, list)) and len(got) == 2, "return two lists: (ids, labels)"
        ids, labels = (x.tolist() if isinstance(x, torch.Tensor) else list(x) for x in got)
        want_ids, want_labels = task_example(vocab, "caption", codes, caption)
        assert ids == want_ids, "the ids differ from <s> <boi> codes <eoi> describe : caption </s>"
        assert len(labels) == len(ids), f"one label per id: {len(labels)} labels for {len(ids)} ids"
        if labels[:-1] == want_labels[1:] and labels != want_labels:
            raise AssertionError("your labels are shifted by one: label i should be the id at position i, as in "
                                 "the ids; transformers' causal LM shifts them itself when it computes the loss")
        if labels[: len(ids) - len(caption.split()) - 1] != [IGNORE_INDEX] * (len(ids) - len(caption.split()) - 1):
            raise AssertionError("the prompt (image and instruction) must be labelled -100: the model reads it, "
                                 "it does not learn to write it")
        assert labels == want_labels, "the caption and </s> should keep their ids as labels"


@register("unified.guided_logits")
def check_guided_logits(fn) -> None:
    """``fn(cond, uncond, w) -> guided logits``: l_c + w (l_c - l_u)."""
    require_callable(fn, "guide_logits")
    g = generator(12)
    for w in (0.0, 1.0, 3.0):
        cond, uncond = torch.randn(3, 20, generator=g), torch.randn(3, 20, generator=g)
        got = expect_tensor(call(fn, cond.clone(), uncond.clone(), w, what=f"guide_logits(cond, uncond, w={w})"),
                            f"guided logits at w={w}", shape=(3, 20))
        want = guided_logits(cond, uncond, w)
        if w > 0 and torch.allclose(got, cond - w * (cond - uncond), atol=1e-5):
            raise AssertionError(f"guided logits at w={w} point the wrong way: l_c + w (l_c - l_u) moves *away* from "
                                 "the unconditional logits; yours moves towards them")
        assert torch.allclose(got, want, atol=1e-5), (
            f"guided logits at w={w} differ from l_c + w (l_c - l_u); hint: w = 0 must give the conditional logits")
