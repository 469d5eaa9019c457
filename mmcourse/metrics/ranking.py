"""Ranking metrics beyond Recall@K: mean average precision, and Winoground's binding test.

* :func:`average_precision` -- for each query, the precision at every threshold where a
  relevant item enters the ranking, weighted by how much recall it adds (the step-wise
  area under the precision-recall curve; ``sklearn.metrics.average_precision_score``, which
  ``tests/metrics/test_ranking.py`` checks it against, ties included). mAP is the mean.
* :func:`winoground_scores` -- Thrush et al. 2022 (§3.1): two images and two captions with
  the same words in a different order. The text score asks whether each image prefers its
  own caption, the image score whether each caption prefers its own image, the group score
  both. Chance is 25 / 25 / 16.7 %; CLIP ViT-B/32 reaches 30.8 / 10.5 / 8.0 (Table 3).
"""

from __future__ import annotations

import numpy as np
import torch

from ..contracts import Tensor, contract


@contract(similarity=Tensor(rank=2, kind="float", what="(queries, gallery) scores"),
          relevant=Tensor(rank=2, kind="bool", what="(queries, gallery) True where relevant"))
def average_precision(similarity: torch.Tensor, relevant: torch.Tensor) -> np.ndarray:
    """Average precision of each query (Q,); its mean is mAP. Tied scores form one threshold.

    Used in: chapter 07
    """
    if similarity.shape != relevant.shape:
        raise ValueError(f"similarity {tuple(similarity.shape)} and relevant {tuple(relevant.shape)} must have the "
                         "same shape")
    if not bool(relevant.any(1).all()):
        raise ValueError("every query needs at least one relevant gallery item (a row of relevant is all False)")
    out = []
    for scores, rel in zip(similarity.double().cpu().numpy(), relevant.cpu().numpy()):
        order = np.argsort(-scores, kind="stable")
        scores, rel = scores[order], rel[order]
        last_of_tie = np.r_[scores[1:] != scores[:-1], True]  # 1. thresholds at distinct scores
        hits = np.cumsum(rel)[last_of_tie]
        seen = np.flatnonzero(last_of_tie) + 1
        precision, recall = hits / seen, hits / rel.sum()  # 2. precision and recall at each threshold
        out.append(float(np.sum(np.diff(np.r_[0.0, recall]) * precision)))  # 3. sum of dR x P
    return np.array(out)


@contract(scores=Tensor(rank=3, kind="float", what="(N, 2 captions, 2 images) similarities"))
def winoground_scores(scores: torch.Tensor) -> dict[str, np.ndarray]:
    """Per-example text, image and group success (N,) as 0/1, from s[i, caption, image]."""
    if scores.shape[1:] != (2, 2):
        raise ValueError(f"scores must have shape (N, 2, 2): caption 0/1 against image 0/1; got {tuple(scores.shape)}")
    s = scores.double()
    text = (s[:, 0, 0] > s[:, 1, 0]) & (s[:, 1, 1] > s[:, 0, 1])  # each image prefers its caption
    image = (s[:, 0, 0] > s[:, 0, 1]) & (s[:, 1, 1] > s[:, 1, 0])  # each caption prefers its image
    return {"text": text.float().numpy(), "image": image.float().numpy(), "group": (text & image).float().numpy()}
