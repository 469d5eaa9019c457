"""Metrics for generated images: does a sample show what the prompt asked for, and how
far is the set of samples from real images (Fréchet distance).

* :func:`prompt_accuracy` -- a classifier (the zoo's ``shapes-cnn``) reads each sample; the
  fraction whose colour, shape and both match the prompt.
* :func:`frechet_distance` -- ||mu_a - mu_b||^2 + Tr(S_a + S_b - 2 (S_a S_b)^1/2) between
  Gaussians fitted to two sets of features (Heusel et al., 2017, eq. 6): FID when the features
  are Inception's; here they are the classifier's, so the numbers compare only with each other.
  Checked against a closed form in ``tests/metrics/test_image.py``.
"""

from __future__ import annotations

import numpy as np
import torch

from ..contracts import Int, Tensor, contract, same_length


@contract(same_length("pred_pairs", "colors"), same_length("pred_pairs", "shapes"),
          pred_pairs=Tensor(rank=1, kind="int", what="(batch,) predicted colour-shape pair ids"),
          colors=Tensor(rank=1, kind="int", what="(batch,) requested colour ids"),
          shapes=Tensor(rank=1, kind="int", what="(batch,) requested shape ids"), num_shapes=Int(min=1))
def prompt_accuracy(pred_pairs: torch.Tensor, colors: torch.Tensor, shapes: torch.Tensor, *,
                    num_shapes: int = 5) -> dict[str, float]:
    """Fractions of samples whose predicted pair (``color * num_shapes + shape``) has the
    requested colour, shape, and both.
    """
    pred_color, pred_shape = pred_pairs // num_shapes, pred_pairs % num_shapes
    color_ok, shape_ok = pred_color == colors, pred_shape == shapes
    return {"color": color_ok.float().mean().item(), "shape": shape_ok.float().mean().item(),
            "pair": (color_ok & shape_ok).float().mean().item()}


def _sqrtm_psd(m: np.ndarray) -> np.ndarray:
    """Square root of a symmetric positive semi-definite matrix by eigendecomposition."""
    w, v = np.linalg.eigh((m + m.T) / 2)
    return (v * np.sqrt(np.clip(w, 0, None))) @ v.T


@contract(features_a=Tensor(rank=2, kind="float", what="(N, D) features"),
          features_b=Tensor(rank=2, kind="float", what="(M, D) features"))
def frechet_distance(features_a: torch.Tensor, features_b: torch.Tensor) -> float:
    """Fréchet distance between Gaussians fitted to two feature sets (N, D) and (M, D).
    With N <= D a covariance estimate is singular and the value mostly measures the sample
    size; :func:`mmcourse.metrics.generation.fid` refuses such sets.

    Used in: chapter 07
    """
    if features_a.shape[1] != features_b.shape[1]:
        raise ValueError(f"features_a and features_b need the same width; got {features_a.shape[1]} "
                         f"and {features_b.shape[1]}")
    if min(len(features_a), len(features_b)) < 2:
        raise ValueError("each feature set needs at least 2 rows to estimate a covariance")
    a, b = features_a.double().cpu().numpy(), features_b.double().cpu().numpy()
    mu_a, mu_b = a.mean(0), b.mean(0)
    s_a, s_b = np.cov(a, rowvar=False), np.cov(b, rowvar=False)
    # Tr((S_a S_b)^1/2) = Tr((S_a^1/2 S_b S_a^1/2)^1/2): the inner matrix is symmetric PSD
    root_a = _sqrtm_psd(s_a)
    cross = np.trace(_sqrtm_psd(root_a @ s_b @ root_a))
    return float(((mu_a - mu_b) ** 2).sum() + np.trace(s_a) + np.trace(s_b) - 2 * cross)
