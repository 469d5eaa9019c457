"""Checks for chapter 02's exercises: the contrastive loss, zero-shot classification, Recall@K."""

from __future__ import annotations

import torch

from .. import metrics, zeroshot, zoo
from ..models.clip import clip_loss, hardest_negatives
from ._util import call, expect_float, expect_loss, expect_tensor, generator, require_callable
from .registry import register


@register("clip.info_nce")
def check_info_nce(fn) -> None:
    """``fn(logits_per_image (B, B)) -> scalar``: symmetric cross-entropy, pair i matches i."""
    require_callable(fn, "info_nce")
    g = generator(21)
    for B in (2, 5, 16):
        logits = torch.randn(B, B, generator=g) * 5
        mine = logits.clone().requires_grad_(True)  # the loss must carry a gradient back to the logits
        loss = call(fn, mine, what="info_nce(logits)")
        got = expect_loss(loss, "info_nce(logits)")
        want = clip_loss(logits).item()
        one_way = torch.nn.functional.cross_entropy(logits, torch.arange(B)).item()
        if abs(got - one_way) < 1e-5 and abs(got - want) > 1e-5:
            raise AssertionError("only the image->text direction: average it with the text->image loss "
                                 "(the cross-entropy of the transposed logits)")
        assert abs(got - want) < 1e-5, f"for a {B}x{B} batch you returned {got:.5f}, expected {want:.5f}"
        assert loss.requires_grad, ("the loss carries no gradient: compute it with torch operations on the logits "
                                    "(no .item(), no torch.no_grad(), no torch.tensor(...) around a number)")
        loss.backward()
        reference = logits.clone().requires_grad_(True)
        clip_loss(reference).backward()
        assert torch.allclose(mine.grad, reference.grad, atol=1e-6), "the loss's gradient differs from the reference's"


@register("clip.zero_shot_classifier")
def check_zero_shot_classifier(fn) -> None:
    """``fn(model, classnames, templates) -> (C, D)``: prompt-ensembled, normalised class embeddings."""
    require_callable(fn, "zero_shot_classifier")
    model = zoo.load("clip-shapes")
    for names, templates in [(["red circle", "blue square"], ["a {}"]),
                             (["green cross", "yellow diamond", "purple triangle"], ["a {}", "a photo of a {}",
                                                                                     "there is a {}"])]:
        got = expect_tensor(call(fn, model, names, templates, what="zero_shot_classifier(...)"),
                            "zero_shot_classifier(model, classnames, templates)")
        want = zeroshot.class_embeddings(model, names, templates)
        assert tuple(got.shape) == tuple(want.shape), f"expected shape {tuple(want.shape)}; got {tuple(got.shape)}"
        if not torch.allclose(got.norm(dim=-1), torch.ones(len(names)), atol=1e-4):
            raise AssertionError("each class embedding must have length 1: normalise the mean of the templates")
        assert torch.allclose(got, want, atol=1e-4), (
            "class embeddings differ from the reference: encode every template for a class, average, normalise")


@register("metrics.recall_at_k")
def check_recall_at_k(fn) -> None:
    """``fn(similarity (Q, G), relevant (Q,), k) -> float``, ties counted against the query."""
    require_callable(fn, "recall_at_k")
    g = generator(22)
    for Q, G, k in [(10, 10, 1), (50, 20, 5), (30, 100, 10)]:
        sim = torch.randn(Q, G, generator=g)
        rel = torch.randint(0, G, (Q,), generator=g)
        want = metrics.recall_at_k(metrics.retrieval_ranks(sim, rel), k)
        got = expect_float(call(fn, sim.clone(), rel.clone(), k, what="recall_at_k(...)"), "recall_at_k")
        assert abs(got - want) < 1e-6, f"Q={Q}, G={G}, k={k}: you returned {got:.4f}, expected {want:.4f}"
    tied = torch.zeros(4, 6)  # every item scores the same: nothing is really retrieved
    got = expect_float(call(fn, tied, torch.arange(4), 1, what="recall_at_k(...)"), "recall_at_k")
    assert got == 0.0, ("with all scores tied, Recall@1 must be 0: count a tie against the query "
                        f"(rank = 1 + items scoring >= the relevant one); got {got}")


@register("clip.hardest_negatives")
def check_hardest_negatives(fn) -> None:
    """``fn(similarity (B, B)) -> (B,)``: per row, the most similar column other than i."""
    require_callable(fn, "hardest_negatives")
    g = generator(23)
    for B, offset in ((2, 0.0), (5, 0.0), (32, 0.0), (6, -10.0)):
        sim = torch.randn(B, B, generator=g) + offset  # -10: logits, every one below -1 (not cosines)
        sim += 3 * torch.eye(B)  # the matching pair is usually the most similar
        got = expect_tensor(call(fn, sim.clone(), what="hardest_negatives(similarity)"),
                            "hardest_negatives(similarity)")
        assert not got.is_floating_point(), (f"the indices are {got.dtype}; column indices are integers (argmax "
                                             "returns int64)")
        want = hardest_negatives(sim)
        assert tuple(got.shape) == (B,), f"expected shape ({B},); got {tuple(got.shape)}"
        if (got == torch.arange(B)).any():
            raise AssertionError("a row's own match is not a negative: exclude the diagonal (fill it with -inf: "
                                 "similarities may be logits far below -1)")
        assert torch.equal(got, want), "not the most similar non-matching column in every row"
