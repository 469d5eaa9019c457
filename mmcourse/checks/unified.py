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


def _other_vocabulary() -> MultimodalVocabulary:
    """A 10-word text tokenizer whose <pad> and <s> are not ids 0 and 2: the specials are read
    from the vocabulary, never assumed."""
    from tokenizers import Tokenizer, models
    from transformers import PreTrainedTokenizerFast

    words = ["red", "blue", "<unk>", "circle", "<pad>", "square", "</s>", "<s>", "draw", ":"]
    core = Tokenizer(models.WordLevel(vocab={w: i for i, w in enumerate(words)}, unk_token="<unk>"))
    text = PreTrainedTokenizerFast(tokenizer_object=core, pad_token="<pad>", unk_token="<unk>", bos_token="<s>",
                                   eos_token="</s>")
    return MultimodalVocabulary(text, 6, 4)


def _int_list(value: object, what: str) -> list[int]:
    """The learner's ids must be a Python list of Python ints (a 0-d tensor or a float is refused)."""
    if isinstance(value, torch.Tensor):
        raise AssertionError(f"{what} is a tensor; return a Python list of ints (e.g. codes.flatten().tolist()): a "
                             "document's ids are lists joined with +, and a tensor would add element-wise instead")
    assert isinstance(value, list), f"{what} should be a list of Python ints; got {type(value).__name__}"
    odd = sorted({type(i).__name__ for i in value if type(i) is not int})
    assert not odd, (f"{what} holds {odd} values; ids are Python ints (a tensor's .tolist() gives them; a 0-d "
                     "tensor or -100.0 is not one)")
    return value


@register("vq.quantise")
def check_quantise(fn) -> None:
    """``fn(z (B, D, H, W), codebook (K, D)) -> (z_q (B, D, H, W), codes (B, H, W))`` with the
    straight-through gradient."""
    require_callable(fn, "quantise")
    g = generator(9)
    for B, D, H, W, K in ((2, 4, 3, 3, 10), (1, 8, 4, 4, 32), (2, 3, 2, 5, 12)):  # the last grid is not square
        z = torch.randn(B, D, H, W, generator=g, requires_grad=True)
        codebook = (torch.randn(K, D, generator=g) * torch.linspace(0.2, 3, K)[:, None]).requires_grad_(True)
        got = call(fn, z, codebook, what="quantise(z, codebook)")
        assert isinstance(got, (tuple, list)) and len(got) == 2, "quantise should return two things: (z_q, codes)"
        z_q, codes = expect_tensor(got[0], "z_q", shape=(B, D, H, W)), expect_tensor(got[1], "codes", shape=(B, H, W))
        assert not codes.is_floating_point(), f"codes are {codes.dtype}; codes index the codebook: integers (argmin gives int64)"
        want = nearest_codes(z.detach(), codebook.detach())
        if not torch.equal(codes.long(), want):
            flat = z.detach().permute(0, 2, 3, 1).reshape(-1, D)
            if torch.equal(codes.long().flatten(), (flat @ codebook.detach().T).argmax(1)):
                raise AssertionError("those are the codes with the largest dot product; nearest means the smallest "
                                     "Euclidean distance (torch.cdist, then argmin): a dot product favours long "
                                     "codebook vectors")
            raise AssertionError("codes are not the nearest codebook rows; hint: the distance is between each "
                                 "position's D numbers (channels), so move D last (permute(0, 2, 3, 1)) before "
                                 "torch.cdist, then argmin over K, and view the result as (B, H, W)")
        assert torch.allclose(z_q.detach(), codebook.detach()[want].permute(0, 3, 1, 2), atol=1e-5), (
            "z_q should hold the chosen codebook vectors, back in (B, D, H, W) order")
        upstream = torch.randn(B, D, H, W, generator=g)
        assert z_q.requires_grad, ("z_q carries no gradient back to z; hint: straight-through is "
                                   "z + (e - z).detach(), so the forward value is e and the gradient goes to z")
        (z_q * upstream).sum().backward()
        assert z.grad is not None and torch.allclose(z.grad, upstream), (
            "the gradient reaching z should equal the gradient at z_q (straight-through): z + (e - z).detach()")
        assert codebook.grad is None or not codebook.grad.any(), (
            "the decoder's gradient reached the codebook: straight-through sends it to z alone, z + (e - z).detach() "
            "(the codebook learns from its own loss term, ||sg(z) - e||^2)")


@register("unified.image_ids")
def check_image_ids(fn) -> None:
    """``fn(codes (h, w), text_size) -> ids``: <boi>, the codes shifted by the offset, <eoi>."""
    require_callable(fn, "image_ids")
    g = generator(10)
    for vocab in [*_vocabularies(), _other_vocabulary()]:
        side = int(vocab.tokens_per_image**0.5)
        codes = torch.randint(0, vocab.codebook_size, (side, side), generator=g)
        got = _int_list(call(fn, codes.clone(), vocab.text_size, what=f"image_ids(codes, text_size={vocab.text_size})"),
                        "image_ids(...)")
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
    for vocab in [*_vocabularies(), _other_vocabulary()]:
        N = vocab.tokens_per_image
        state = torch.tensor([-1, 0, N // 2, N - 1, N, N + 1])
        got = expect_tensor(call(fn, vocab, state.clone(), what="allowed_ids(vocab, codes_so_far)"), "the mask",
                            shape=(6, len(vocab)))
        assert got.dtype == torch.bool, (
            f"the mask is {got.dtype}; return a torch.bool mask: the sampler writes logits.masked_fill(~mask, -inf), "
            "and ~ on a 0/1 integer tensor gives -1 and -2, not the opposite mask")
        want = modality_mask(vocab, state)
        names = ["outside an image", "right after <boi>", "half-way through an image", "one code to go",
                 "with the image full", "past a full image"]
        for row, name in enumerate(names):
            assert torch.equal(got[row].bool(), want[row]), (
                f"wrong mask {name}: allowed {int(got[row].sum())} ids, expected {int(want[row].sum())}; hint: inside "
                "an unfinished image only codes; once it holds tokens_per_image codes only <eoi>; outside, every "
                f"text id but <pad> (vocab.pad, here {vocab.pad}) and <s> (vocab.bos, here {vocab.bos}), plus <boi>")


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
        ids, labels = _int_list(got[0], "the ids"), _int_list(got[1], "the labels")
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
        gap = got - want
        if not torch.allclose(got, want, atol=1e-5) and torch.allclose(gap, gap[:, :1].expand_as(gap), atol=1e-5):
            raise AssertionError(f"guided logits at w={w} differ from l_c + w (l_c - l_u) by a constant per row (a "
                                 "log_softmax?): sampling would not change, but return the guided logits themselves")
        if w > 0 and torch.allclose(got, cond - w * (cond - uncond), atol=1e-5):
            raise AssertionError(f"guided logits at w={w} point the wrong way: l_c + w (l_c - l_u) moves *away* from "
                                 "the unconditional logits; yours moves towards them")
        assert torch.allclose(got, want, atol=1e-5), (
            f"guided logits at w={w} differ from l_c + w (l_c - l_u); hint: w = 0 must give the conditional logits")
