"""Scores for generated images beyond "did the classifier read the prompt":

* :func:`inception_score` -- exp(E_x KL(p(y|x) || p(y))) (Salimans et al. 2016, §4): high when
  each image is confidently one class and the classes are spread. Checked against
  ``torchmetrics.image.InceptionScore`` with the same classifier.
* :func:`clip_score` -- the cosine of an image's and its caption's CLIP embeddings, in the two
  conventions in use: Hessel et al. 2021 (CLIPScore, eq. 1: 2.5 * max(cos, 0) per pair) and
  torchmetrics (100 * cos per pair, the mean clamped at 0). Checked against torchmetrics.
* :func:`frechet_distance_at` and :func:`fid_infinity` -- the Fréchet distance
  (:func:`mmcourse.metrics.image.frechet_distance`) is biased: the same model scores worse on
  fewer samples. Chong & Forsyth 2020 (§3) fit FID linearly in 1/N and read the intercept,
  FID_inf, the value at infinitely many samples.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal

import numpy as np
import torch

from ..contracts import Choice, Float, Int, Tensor, contract
from .image import frechet_distance

Convention = Literal["hessel", "torchmetrics"]


@contract(logits=Tensor(rank=2, kind="float", what="(N, classes) classifier logits"))
def inception_score(logits: torch.Tensor) -> float:
    """exp of the mean KL divergence between each image's class distribution and the
    average one (one split; the paper averages 10 splits of 5,000).

    Used in: chapter 07
    """
    if len(logits) < 2:
        raise ValueError(f"logits needs at least 2 images to estimate p(y); got {len(logits)}")
    log_p = logits.double().log_softmax(1)  # log p(y|x), (N, C)
    log_marginal = log_p.exp().mean(0, keepdim=True).log()  # log p(y), (1, C)
    kl = (log_p.exp() * (log_p - log_marginal)).sum(1)  # KL(p(y|x) || p(y)) per image
    return float(kl.mean().exp())


@contract(image_embeds=Tensor(rank=2, kind="float", what="(N, D) image embeddings"),
          text_embeds=Tensor(rank=2, kind="float", what="(N, D) caption embeddings"),
          convention=Choice(("hessel", "torchmetrics")), w=Float(min=0, open_min=True))
def clip_score(image_embeds: torch.Tensor, text_embeds: torch.Tensor, *, convention: Convention = "hessel",
               w: float = 2.5) -> torch.Tensor:
    """Per-pair CLIP score (N,): ``w * max(cos, 0)`` (Hessel et al.) or ``100 * cos``
    (torchmetrics, which clamps only the mean at 0). Embeddings need not be normalised.

    Used in: chapter 07
    """
    if image_embeds.shape != text_embeds.shape:
        raise ValueError(f"image_embeds {tuple(image_embeds.shape)} and text_embeds {tuple(text_embeds.shape)} must "
                         "have the same shape: one caption per image, one embedding width")
    cos = torch.nn.functional.cosine_similarity(image_embeds.double(), text_embeds.double(), dim=1)
    return (w * cos.clamp(min=0) if convention == "hessel" else 100 * cos).float()


@contract(real=Tensor(rank=2, kind="float", what="(M, D) features of real images"),
          fake=Tensor(rank=2, kind="float", what="(N, D) features of generated images"))
def fid(real: torch.Tensor, fake: torch.Tensor) -> float:
    """FID as papers compute it, on whatever features are given: the Fréchet distance of
    ``fake`` to ``real``, refusing feature sets it cannot estimate.

    Used in: chapter 07
    """
    if real.shape[1] != fake.shape[1]:
        raise ValueError(f"real and fake need the same feature width; got {real.shape[1]} and {fake.shape[1]}")
    if min(len(real), len(fake)) <= real.shape[1]:
        raise ValueError(f"real ({len(real)} rows) and fake ({len(fake)} rows) need more samples than feature "
                         f"dimensions ({real.shape[1]}): with fewer, a covariance estimate is singular and the "
                         "distance mostly measures the sample size (Inception's 2,048 features need > 2,048 images)")
    return frechet_distance(fake, real)


class FrechetReference:
    """The real side of a Fréchet distance computed once: mean, covariance and its square
    root, so that scoring many generated sets (a bootstrap) costs one small eigendecomposition
    each. ``FrechetReference(real)(fake)`` equals ``frechet_distance(fake, real)``."""

    @contract(real=Tensor(rank=2, kind="float", what="(M, D) features of real images"))
    def __init__(self, real: torch.Tensor) -> None:
        if len(real) <= real.shape[1]:
            raise ValueError(f"real has {len(real)} rows for {real.shape[1]} feature dimensions: it needs more "
                             "samples than dimensions for a non-singular covariance")
        r = real.double().cpu().numpy()
        self.mu, cov = r.mean(0), np.cov(r, rowvar=False)
        w, v = np.linalg.eigh((cov + cov.T) / 2)
        self.root = (v * np.sqrt(np.clip(w, 0, None))) @ v.T  # cov^1/2, symmetric
        self.trace = float(np.trace(cov))

    def __call__(self, fake: torch.Tensor | np.ndarray) -> float:
        f = np.asarray(fake, dtype=float) if isinstance(fake, np.ndarray) else fake.double().cpu().numpy()
        if f.ndim != 2 or f.shape[1] != len(self.mu) or len(f) <= f.shape[1]:
            raise ValueError(f"fake must be (N, {len(self.mu)}) with N > {len(self.mu)}; got {f.shape}")
        mu, cov = f.mean(0), np.cov(f, rowvar=False)
        # Tr((C_f C_r)^1/2) = sum of sqrt(eigenvalues of C_r^1/2 C_f C_r^1/2), a symmetric PSD matrix
        eig = np.linalg.eigvalsh(self.root @ cov @ self.root)
        cross = np.sqrt(np.clip(eig, 0, None)).sum()
        return float(((mu - self.mu) ** 2).sum() + np.trace(cov) + self.trace - 2 * cross)


@contract(fake=Tensor(rank=2, kind="float", what="(N, D) features of generated images"),
          real=Tensor(rank=2, kind="float", what="(M, D) features of real images"), n=Int(min=2), seed=Int(min=0))
def frechet_distance_at(fake: torch.Tensor, real: torch.Tensor, n: int, seed: int = 0) -> float:
    """The Fréchet distance of ``n`` generated samples (drawn without replacement) to all
    ``real`` ones: how FID reads when a paper evaluates on ``n`` images.
    """
    if n > len(fake):
        raise ValueError(f"n={n} is more than the {len(fake)} generated samples in fake")
    rows = torch.randperm(len(fake), generator=torch.Generator().manual_seed(seed))[:n]
    return frechet_distance(fake[rows], real)


@contract(fake=Tensor(rank=2, kind="float", what="(N, D) features of generated images"),
          real=Tensor(rank=2, kind="float", what="(M, D) features of real images"), seed=Int(min=0))
def fid_infinity(fake: torch.Tensor, real: torch.Tensor, sizes: Sequence[int], seed: int = 0) -> dict[str, object]:
    """Chong & Forsyth's FID_inf: the distance at each size in ``sizes``, a least-squares line
    FD(N) = FID_inf + slope / N, and its intercept.

    Used in: chapter 07
    """
    if len(sizes) < 2 or len(set(sizes)) < 2:
        raise ValueError(f"sizes needs at least two different sample counts to fit a line; got {list(sizes)}")
    values = [frechet_distance_at(fake, real, int(n), seed=seed) for n in sizes]
    slope, intercept = np.polyfit(1 / np.asarray(sizes, dtype=float), values, 1)
    return {"sizes": list(sizes), "values": values, "fid_inf": float(intercept), "slope": float(slope)}
