"""Classification metrics: accuracy, the confusion matrix, batched predictions.

Each is checked against scikit-learn in ``tests/metrics/``.
"""

from __future__ import annotations

import torch

from ..contracts import Instance, Int, Tensor, contract, same_length


def _check_pair(logits_or_preds: torch.Tensor, labels: torch.Tensor, what: str) -> None:
    if not isinstance(logits_or_preds, torch.Tensor) or not isinstance(labels, torch.Tensor):
        raise TypeError(f"{what} and labels must be torch tensors")
    if labels.dim() != 1:
        raise ValueError(f"labels must be 1-D (batch,); got shape {tuple(labels.shape)}")
    if logits_or_preds.shape[0] != labels.shape[0]:
        raise ValueError(
            f"{what} and labels disagree on the batch size: {logits_or_preds.shape[0]} vs {labels.shape[0]}"
        )
    if labels.numel() == 0:
        raise ValueError("labels is empty")


@contract(same_length("logits", "labels"), logits=Tensor(rank=2, kind="float", what="(batch, classes) logits"),
          labels=Tensor(rank=1, kind="int", what="(batch,) class ids"))
def accuracy(logits: torch.Tensor, labels: torch.Tensor) -> float:
    """Fraction of rows whose arg-max logit is the label. ``logits`` (B, C), ``labels`` (B,).

    Used in: chapters 00, 01, 04, 07
    """
    _check_pair(logits, labels, "logits")
    if logits.dim() != 2:
        raise ValueError(f"logits must be 2-D (batch, classes); got shape {tuple(logits.shape)}")
    return (logits.argmax(dim=1) == labels).float().mean().item()


@contract(same_length("preds", "labels"), preds=Tensor(rank=1, kind="int", what="(batch,) class ids"),
          labels=Tensor(rank=1, kind="int", what="(batch,) class ids"), num_classes=Int(min=1))
def confusion_matrix(preds: torch.Tensor, labels: torch.Tensor, num_classes: int) -> torch.Tensor:
    """``M[i, j]`` = how many examples of true class ``i`` were predicted as ``j``.

    Same convention as ``sklearn.metrics.confusion_matrix`` (rows: truth).

    Used in: chapter 00
    """
    _check_pair(preds, labels, "preds")
    if preds.dim() != 1:
        raise ValueError(f"preds must be 1-D class ids (batch,); got shape {tuple(preds.shape)}")
    if isinstance(num_classes, bool) or not isinstance(num_classes, int) or num_classes < 1:
        raise ValueError(f"num_classes must be a positive int; got {num_classes!r}")
    if labels.min() < 0 or labels.max() >= num_classes or preds.min() < 0 or preds.max() >= num_classes:
        raise ValueError(f"preds and labels must lie in [0, num_classes={num_classes})")
    flat = labels.long() * num_classes + preds.long()
    return torch.bincount(flat, minlength=num_classes * num_classes).reshape(num_classes, num_classes)


@contract(model=Instance(torch.nn.Module), images=Tensor(kind="float", what="of model inputs"),
          batch_size=Int(min=1))
@torch.no_grad()
def predict(model: torch.nn.Module, images: torch.Tensor, batch_size: int = 512) -> torch.Tensor:
    """Logits of ``model`` over ``images`` in eval mode, batched, on the model's device.

    Used in: chapters 00, 01, 04, 05, 06, 07
    """
    was_training = model.training
    model.eval()
    device = next(model.parameters()).device
    out = [model(images[i : i + batch_size].to(device)).float().cpu() for i in range(0, len(images), batch_size)]
    model.train(was_training)
    return torch.cat(out)
