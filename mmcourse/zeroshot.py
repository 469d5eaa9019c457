"""Zero-shot classification with a CLIP-style model: classes become texts.

Each class name is written into several prompt templates ("a photo of a {}"), the
text embeddings of one class are averaged and re-normalised (prompt ensembling, CLIP
paper section 3.1.4), and an image is assigned the class whose embedding is most similar.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
import torch.nn.functional as F

from .contracts import Duck, Images, Tensor, Texts, contract
from .data.vocabulary import PAIR_NAMES, correct_articles

#: The prompt ensemble used for shapes (every phrasing the training captions use).
CLIP_PROMPTS = ("a {}", "a photo of a {}", "there is a {}", "a small {}", "a large {}")

_CLIP_STYLE = Duck(("encode_image", "encode_text"), "a CLIP-style model, e.g. zoo.load('clip-shapes')")


def _templates(templates: Sequence[str]) -> list[str]:
    templates = Texts().check(templates, "templates")
    missing = [t for t in templates if "{}" not in t]
    if missing:
        raise ValueError(f"templates must each contain '{{}}' where the class name goes; these do not: {missing}")
    return templates


@contract(model=_CLIP_STYLE, classnames=Texts())
@torch.no_grad()
def class_embeddings(model: torch.nn.Module, classnames: Sequence[str],
                     templates: Sequence[str] = ("a {}",)) -> torch.Tensor:
    """(C, D) normalised class embeddings, each the mean over ``templates`` of the encoded
    prompts (with "a" corrected to "an" where needed).

    Used in: chapters 02, 04
    """
    templates = _templates(templates)
    model.eval()
    per_template = [model.encode_text([correct_articles(t.format(c)) for c in classnames]) for t in templates]
    return F.normalize(torch.stack(per_template).mean(0), dim=-1)


@contract(model=_CLIP_STYLE, images=Images(channels=3), class_emb=Tensor(rank=2, kind="float", what="(classes, dim)"))
@torch.no_grad()
def classify(model: torch.nn.Module, images: torch.Tensor, class_emb: torch.Tensor,
             batch_size: int = 500) -> torch.Tensor:
    """(N, C) cosine similarities of each image with each class embedding.

    Used in: chapter 02
    """
    model.eval()
    feats = torch.cat([model.encode_image(images[i:i + batch_size]) for i in range(0, len(images), batch_size)])
    if feats.shape[1] != class_emb.shape[1]:
        raise ValueError(f"class_emb has width {class_emb.shape[1]} but the model's embeddings have "
                         f"{feats.shape[1]}: build it with class_embeddings(model, ...) of the same model")
    return feats @ class_emb.T


@contract(model=_CLIP_STYLE, images=Images(channels=3), labels=Tensor(rank=1, kind="int"))
def pair_accuracy(model: torch.nn.Module, images: torch.Tensor, labels: torch.Tensor,
                  templates: Sequence[str] = CLIP_PROMPTS) -> float:
    """Zero-shot accuracy over the 30 colour-shape pairs of the shapes data, with the
    prompt ensemble; ``labels`` are ``ShapesData.label("pair")``.

    Used in: chapter 02
    """
    if len(labels) != len(images):
        raise ValueError(f"labels has {len(labels)} entries for {len(images)} images")
    emb = class_embeddings(model, list(PAIR_NAMES), templates)
    return (classify(model, images, emb).argmax(1) == labels).float().mean().item()
