"""Retrieval metrics: the rank of the right item, Recall@K, mean and median rank.

Ties count against the query (pessimistic), so a model that scores everything equally
gets the worst rank, not a lucky one.
"""

from __future__ import annotations

import torch

from ..contracts import Int, Maybe, Tensor, contract


@contract(similarity=Tensor(rank=2, kind="float", what="(queries, gallery) scores"),
          relevant=Tensor(rank=(1, 2), what="(queries,) ids or a (queries, gallery) bool mask"))
def retrieval_ranks(similarity: torch.Tensor, relevant: torch.Tensor) -> torch.Tensor:
    """The rank (1 = first) of the best relevant gallery item for each query.

    Args:
        similarity: (Q, G) scores, higher = more similar.
        relevant: (Q,) the index of the one relevant item per query, or a (Q, G) boolean
            matrix when a query has several (e.g. five captions per image).

    Ties are counted against the query (pessimistic): rank = 1 + the number of
    irrelevant items scoring at least as high as the best relevant one. A model that
    gives every item the same score therefore gets the worst rank, not a lucky one.
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


@contract(ranks=Tensor(rank=1), k=Int(min=1), gallery_size=Maybe(Int(min=1)))
def recall_at_k(ranks: torch.Tensor, k: int, gallery_size: int | None = None) -> float:
    """Fraction of queries whose relevant item is in the top ``k``."""
    if isinstance(k, bool) or not isinstance(k, int) or k < 1:
        raise ValueError(f"k must be a positive int; got {k!r}")
    if gallery_size is not None and k > gallery_size:
        raise ValueError(f"k={k} is larger than the gallery ({gallery_size} items)")
    return (ranks <= k).float().mean().item()


@contract(similarity=Tensor(rank=2, kind="float", what="(queries, gallery) scores"),
          relevant=Tensor(rank=(1, 2), what="(queries,) ids or a (queries, gallery) bool mask"))
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
