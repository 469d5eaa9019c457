import pytest
import torch

from mmcourse import prior, zoo
from mmcourse.data import make_shapes
from mmcourse.train import fit


def test_prior_learns_to_close_the_modality_gap():
    clip = zoo.load("clip-shapes")
    text, image = prior.clip_pairs(clip, make_shapes(600, seed=3))
    torch.manual_seed(0)
    p = prior.EmbeddingPrior(text.shape[1], hidden=64)
    g = torch.Generator().manual_seed(0)

    def batch():
        i = torch.randint(0, 600, (64,), generator=g)
        return text[i], image[i]

    fit(p, batch, loss_fn=prior.prior_loss, steps=150, lr=1e-3, progress=False)
    with torch.no_grad():
        rows = prior.gap_and_retrieval(text, p(text), image)
    assert rows[1]["cosine to its image"] > rows[0]["cosine to its image"]
    assert set(rows[0]) >= {"query", "cosine to its image", "R@1", "R@5"}


def test_bad_inputs():
    with pytest.raises(ValueError, match="share a shape"):
        prior.gap_and_retrieval(torch.zeros(3, 4), torch.zeros(3, 4), torch.zeros(2, 4))
    with pytest.raises(TypeError, match="data must be a ShapesData"):
        prior.clip_pairs(zoo.load("clip-shapes"), [1, 2])
    with pytest.raises(ValueError, match="dim"):
        prior.EmbeddingPrior(0)
