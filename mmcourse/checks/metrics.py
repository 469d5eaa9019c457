"""Checks for the metric exercises (accuracy, confusion matrix)."""

from __future__ import annotations

import torch

from .. import metrics as ref
from . import register
from ._util import as_float, generator, require_callable


@register("metrics.accuracy")
def check_accuracy(fn) -> None:
    """``fn(logits (B, C), labels (B,)) -> float``, equal to the fraction of correct arg-maxes."""
    require_callable(fn, "accuracy")
    g = generator(1)
    for B, C in [(1, 2), (7, 3), (64, 5), (257, 30)]:
        logits = torch.randn(B, C, generator=g)
        labels = torch.randint(0, C, (B,), generator=g)
        got = as_float(fn(logits.clone(), labels.clone()), "accuracy(logits, labels)")
        want = ref.accuracy(logits, labels)
        assert abs(got - want) < 1e-6, (
            f"for {B} examples and {C} classes you returned {got:.4f}, expected {want:.4f}; "
            "hint: compare logits.argmax(dim=1) with labels and average"
        )
    labels = torch.randint(0, 4, (32,), generator=g)
    perfect = torch.nn.functional.one_hot(labels, 4).float()
    got = as_float(fn(perfect, labels), "accuracy")
    assert abs(got - 1.0) < 1e-6, f"all predictions right should give 1.0; got {got}"
    assert 0.0 <= as_float(fn(-perfect, labels), "accuracy") <= 1e-6, "all wrong should give 0.0"


@register("metrics.confusion_matrix")
def check_confusion_matrix(fn) -> None:
    """``fn(preds (B,), labels (B,), num_classes) -> (C, C)`` counts, rows = true class."""
    require_callable(fn, "confusion_matrix")
    g = generator(2)
    for B, C in [(10, 2), (100, 5), (33, 7)]:
        preds = torch.randint(0, C, (B,), generator=g)
        labels = torch.randint(0, C, (B,), generator=g)
        got = fn(preds.clone(), labels.clone(), C)
        got = torch.as_tensor(got)
        want = ref.confusion_matrix(preds, labels, C)
        assert tuple(got.shape) == (C, C), f"expected shape ({C}, {C}); got {tuple(got.shape)}"
        if torch.equal(got.long(), want.T):
            raise AssertionError("rows and columns are swapped: row i should be the TRUE class i")
        assert torch.equal(got.long(), want), (
            f"counts differ from the reference for {B} examples, {C} classes; "
            "hint: M[true, predicted] += 1 for each example"
        )
        assert int(got.sum()) == B, f"the counts should sum to the number of examples ({B})"
