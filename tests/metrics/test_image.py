import numpy as np
import pytest
import torch
from scipy import linalg

from mmcourse.metrics.image import frechet_distance, prompt_accuracy


def test_frechet_distance_matches_scipy_sqrtm():
    """The FID formula with scipy's general matrix square root (as pytorch-fid computes it)."""
    g = torch.Generator().manual_seed(0)
    a = torch.randn(400, 6, generator=g, dtype=torch.float64)
    b = torch.randn(300, 6, generator=g, dtype=torch.float64) @ torch.randn(6, 6, generator=g, dtype=torch.float64) + 1
    an, bn = a.numpy(), b.numpy()
    s_a, s_b = np.cov(an, rowvar=False), np.cov(bn, rowvar=False)
    ref = ((an.mean(0) - bn.mean(0)) ** 2).sum() + np.trace(s_a + s_b - 2 * linalg.sqrtm(s_a @ s_b).real)
    assert abs(frechet_distance(a, b) - ref) < 1e-6 * max(1.0, ref)


def test_frechet_distance_of_known_gaussians():
    """Two isotropic Gaussians N(0, I) and N(m, 4 I) in D dims: |m|^2 + D (1 + 4 - 2*2) = |m|^2 + D."""
    g = torch.Generator().manual_seed(1)
    a = torch.randn(200_000, 3, generator=g)
    b = 2 * torch.randn(200_000, 3, generator=g) + torch.tensor([1.0, 0.0, 2.0])
    assert abs(frechet_distance(a, b) - (5 + 3)) < 0.1
    assert frechet_distance(a, a) < 1e-6


def test_prompt_accuracy_and_errors():
    pairs = torch.tensor([0, 6, 7, 29])  # red circle, green square, green triangle, orange cross
    out = prompt_accuracy(pairs, torch.tensor([0, 1, 1, 0]), torch.tensor([0, 1, 1, 4]))
    assert out == {"color": 0.75, "shape": 0.75, "pair": 0.5}
    with pytest.raises(ValueError, match="features_a and features_b"):
        frechet_distance(torch.zeros(3, 2), torch.zeros(3, 4))
    with pytest.raises(ValueError, match="pred_pairs|colors"):
        prompt_accuracy(pairs, torch.tensor([0]), torch.tensor([0]))
