"""Zero-shot classification with a CLIP-style model: classes become texts.

Each class name is written into several prompt templates ("a photo of a {}"), the
text embeddings of one class are averaged and re-normalised (prompt ensembling, CLIP
paper section 3.1.4), and an image is assigned the class whose embedding is most similar.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
import torch.nn.functional as F

from .data.scene_text import _fix_articles


@torch.no_grad()
def class_embeddings(model, classnames: Sequence[str], templates: Sequence[str] = ("a {}",)) -> torch.Tensor:
    """(C, D) normalised class embeddings, each the mean over ``templates``.

    Used in: chapter 02
    """
    if not classnames:
        raise ValueError("classnames is empty: give at least one label")
    if not templates or any("{}" not in t for t in templates):
        raise ValueError("templates must be a non-empty list of strings containing '{}'")
    model.eval()
    per_template = [model.encode_text([_fix_articles(t.format(c)) for c in classnames]) for t in templates]
    return F.normalize(torch.stack(per_template).mean(0), dim=-1)


@torch.no_grad()
def classify(model, images: torch.Tensor, class_emb: torch.Tensor, batch_size: int = 500) -> torch.Tensor:
    """(N, C) cosine similarities of each image with each class embedding.

    Used in: chapter 02
    """
    model.eval()
    feats = torch.cat([model.encode_image(images[i:i + batch_size]) for i in range(0, len(images), batch_size)])
    return feats @ class_emb.T
