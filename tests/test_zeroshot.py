import pytest
import torch

from mmcourse import zeroshot, zoo
from mmcourse.data import make_shapes


def test_prompt_ensemble_is_the_normalised_mean():
    model = zoo.load("clip-shapes")
    names, templates = ["red circle", "blue square"], ["a {}", "a photo of a {}"]
    emb = zeroshot.class_embeddings(model, names, templates)
    manual = torch.stack([model.encode_text([t.format(n) for n in names]) for t in templates]).mean(0)
    assert torch.allclose(emb, torch.nn.functional.normalize(manual, dim=-1), atol=1e-6)
    assert torch.allclose(emb.norm(dim=-1), torch.ones(2))


def test_classify_shapes_and_articles():
    model = zoo.load("clip-shapes")
    d = make_shapes(20, colors=["orange"], seed=3)  # "an orange ..." must be tokenisable
    emb = zeroshot.class_embeddings(model, [f"orange {s}" for s in d.shape_names], ["a {}"])
    scores = zeroshot.classify(model, d.images, emb)
    assert scores.shape == (20, 5) and (scores.argmax(1) == d.label("shape")).float().mean() >= 0.9


def test_bad_zero_shot_input():
    model = zoo.load("clip-shapes")
    with pytest.raises(ValueError, match="classnames must be a non-empty list"):
        zeroshot.class_embeddings(model, [])
    with pytest.raises(ValueError, match="templates"):
        zeroshot.class_embeddings(model, ["red circle"], ["no placeholder"])
