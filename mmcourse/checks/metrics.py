"""Checks for chapter 00's metric exercises: accuracy and the confusion matrix."""

from __future__ import annotations

import torch

from ..metrics import classification as ref
from ._util import call, expect_float, expect_tensor, generator, require_callable
from .registry import register

_ACCURACY_HINTS = {
    "must match the size of tensor": "the predictions must be one class per row: take the arg-max over the "
                                     "classes, logits.argmax(dim=1) (dim=0 takes it over the batch)",
}


@register("metrics.accuracy")
def check_accuracy(fn) -> None:
    """``fn(logits (B, C), labels (B,)) -> float``, equal to the fraction of correct arg-maxes."""
    require_callable(fn, "accuracy")
    g = generator(1)
    for B, C in [(7, 3), (64, 5), (257, 30), (5, 5)]:
        logits = torch.randn(B, C, generator=g)
        labels = torch.randint(0, C, (B,), generator=g)
        got = expect_float(call(fn, logits.clone(), labels.clone(), what="accuracy(logits, labels)",
                                hints=_ACCURACY_HINTS), "accuracy(logits, labels)")
        want = ref.accuracy(logits, labels)
        if abs(got - want) < 1e-6:
            continue
        if B == C and abs(got - (logits.argmax(0) == labels).float().mean().item()) < 1e-6:
            raise AssertionError("you took the arg-max over the batch (dim=0); a prediction is the best class "
                                 "of each row: logits.argmax(dim=1)")
        if abs(got - 100 * want) < 1e-4:
            raise AssertionError(f"that is a percentage ({got:.1f}); return a fraction between 0 and 1")
        if abs(got - want * B) < 1e-4:
            raise AssertionError(f"that is the number of correct rows ({got:g}); divide by the batch size")
        raise AssertionError(f"for {B} examples and {C} classes you returned {got:.4f}, expected {want:.4f}; "
                             "hint: compare logits.argmax(dim=1) with labels and average")
    labels = torch.randint(0, 4, (32,), generator=g)
    perfect = torch.nn.functional.one_hot(labels, 4).float()
    got = expect_float(call(fn, perfect, labels, what="accuracy(logits, labels)"), "accuracy")
    assert abs(got - 1.0) < 1e-6, f"all predictions right should give 1.0; got {got}"
    wrong = expect_float(call(fn, -perfect, labels, what="accuracy(logits, labels)"), "accuracy")
    assert 0.0 <= wrong <= 1e-6, "all wrong should give 0.0"


@register("metrics.confusion_matrix")
def check_confusion_matrix(fn) -> None:
    """``fn(preds (B,), labels (B,), num_classes) -> (C, C)`` integer counts, rows = true class."""
    require_callable(fn, "confusion_matrix")
    g = generator(2)
    # the last case never shows the last two classes: the matrix is still num_classes wide
    for B, C, seen in [(10, 2, 2), (100, 5, 5), (33, 7, 7), (12, 6, 4)]:
        preds = torch.randint(0, seen, (B,), generator=g)
        labels = torch.randint(0, seen, (B,), generator=g)
        got = expect_tensor(call(fn, preds.clone(), labels.clone(), C, what="confusion_matrix(...)"),
                            "confusion_matrix(preds, labels, num_classes)")
        if got.dim() == 2 and got.shape[0] < C:
            raise AssertionError(f"a ({got.shape[0]}, {got.shape[1]}) matrix for num_classes={C}: a class may not "
                                 "occur in a batch, so size the matrix by num_classes (torch.bincount needs "
                                 "minlength=num_classes * num_classes)")
        assert tuple(got.shape) == (C, C), f"expected shape {(C, C)}; got {tuple(got.shape)}"
        assert not got.is_floating_point() and got.dtype != torch.bool, (
            f"the counts are {got.dtype}; counts are whole numbers: build the matrix with dtype=torch.long")
        want = ref.confusion_matrix(preds, labels, C)
        if torch.equal(got.long(), want):
            continue
        if torch.equal(got.long(), want.T):
            raise AssertionError("rows and columns are swapped: row i should be the TRUE class i, "
                                 "M[true, predicted]")
        if torch.equal(got.long(), (want > 0).long()) or torch.equal(got.long(), (want.T > 0).long()):
            raise AssertionError("each cell counts at most 1: `M[labels, preds] += 1` with tensor indices "
                                 "does not add up repeated pairs. Accumulate instead: "
                                 "M.index_put_((labels, preds), torch.ones_like(labels), accumulate=True), "
                                 "torch.bincount, or a loop over the examples")
        assert int(got.sum()) == B, f"the counts should sum to the number of examples ({B}); got {int(got.sum())}"
        raise AssertionError(f"counts differ from the reference for {B} examples, {C} classes; "
                             "hint: M[true, predicted] += 1 for each example")
