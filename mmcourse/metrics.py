"""Metrics, each checked against a library twin in the tests (scikit-learn here)."""

from __future__ import annotations

import torch


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


def accuracy(logits: torch.Tensor, labels: torch.Tensor) -> float:
    """Fraction of rows whose arg-max logit is the label. ``logits`` (B, C), ``labels`` (B,).

    Used in: chapter 00
    """
    _check_pair(logits, labels, "logits")
    if logits.dim() != 2:
        raise ValueError(f"logits must be 2-D (batch, classes); got shape {tuple(logits.shape)}")
    return (logits.argmax(dim=1) == labels).float().mean().item()


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


@torch.no_grad()
def predict(model: torch.nn.Module, images: torch.Tensor, batch_size: int = 512) -> torch.Tensor:
    """Logits of ``model`` over ``images`` in eval mode, batched, on the model's device.

    Used in: chapter 00
    """
    was_training = model.training
    model.eval()
    device = next(model.parameters()).device
    out = [model(images[i : i + batch_size].to(device)).float().cpu() for i in range(0, len(images), batch_size)]
    model.train(was_training)
    return torch.cat(out)


def retrieval_ranks(similarity: torch.Tensor, relevant: torch.Tensor) -> torch.Tensor:
    """The rank (1 = first) of the best relevant gallery item for each query.

    Args:
        similarity: (Q, G) scores, higher = more similar.
        relevant: (Q,) the index of the one relevant item per query, or a (Q, G) boolean
            matrix when a query has several (e.g. five captions per image).

    Ties are counted against the query (pessimistic): rank = 1 + the number of
    irrelevant items scoring at least as high as the best relevant one. A model that
    gives every item the same score therefore gets the worst rank, not a lucky one.

    Used in: chapter 02
    """
    if not isinstance(similarity, torch.Tensor) or similarity.dim() != 2:
        raise ValueError("similarity must be a (queries, gallery) tensor")
    Q, G = similarity.shape
    if relevant.dim() == 1:
        if relevant.shape[0] != Q:
            raise ValueError(f"relevant has {relevant.shape[0]} entries for {Q} queries")
        if relevant.min() < 0 or relevant.max() >= G:
            raise ValueError(f"relevant indices must lie in [0, {G})")
        mask = torch.zeros(Q, G, dtype=torch.bool, device=similarity.device)
        mask[torch.arange(Q), relevant.long()] = True
    else:
        if relevant.shape != similarity.shape:
            raise ValueError(f"relevant must be (Q,) or {tuple(similarity.shape)}; got {tuple(relevant.shape)}")
        mask = relevant.bool()
    if not mask.any(1).all():
        raise ValueError("every query needs at least one relevant gallery item")
    best = similarity.masked_fill(~mask, float("-inf")).max(1).values  # (Q,)
    beaten_or_tied = (similarity >= best[:, None]) & ~mask  # irrelevant items at or above it
    return 1 + beaten_or_tied.sum(1)


def recall_at_k(ranks: torch.Tensor, k: int, gallery_size: int | None = None) -> float:
    """Fraction of queries whose relevant item is in the top ``k``.

    Used in: chapter 02
    """
    if isinstance(k, bool) or not isinstance(k, int) or k < 1:
        raise ValueError(f"k must be a positive int; got {k!r}")
    if gallery_size is not None and k > gallery_size:
        raise ValueError(f"k={k} is larger than the gallery ({gallery_size} items)")
    return (ranks <= k).float().mean().item()


def rank_summary(similarity: torch.Tensor, relevant: torch.Tensor, ks: tuple[int, ...] = (1, 5, 10)
                 ) -> dict[str, float]:
    """Recall@K for each K, mean rank and median rank, in one dict.

    Used in: chapter 02
    """
    ranks = retrieval_ranks(similarity, relevant).float()
    out = {f"R@{k}": recall_at_k(ranks, k, similarity.shape[1]) for k in ks}
    out["mean rank"] = ranks.mean().item()
    out["median rank"] = ranks.median().item()  # the lower middle value for an even count
    return out
