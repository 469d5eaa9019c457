"""FID, Inception Score and CLIP score equal torchmetrics' with the same feature extractor,
classifier and CLIP; the Fréchet distance refuses what it cannot estimate, and FID_inf
recovers the intercept of an exact line."""

import numpy as np
import pytest
import torch
from torchmetrics.functional.multimodal.clip_score import _clip_score_update
from torchmetrics.image.fid import FrechetInceptionDistance
from torchmetrics.image.inception import InceptionScore

from mmcourse.hub import processors, tiny
from mmcourse.metrics.generation import (
    FrechetReference,
    clip_score,
    fid,
    fid_infinity,
    frechet_distance_at,
    inception_score,
)
from mmcourse.metrics.image import frechet_distance
from mmcourse.models.cnn import CNNConfig, SmallCNN


class Features(torch.nn.Module):
    """A classifier's penultimate features as torchmetrics' custom FID extractor."""

    def __init__(self, classifier: SmallCNN):
        super().__init__()
        self.classifier = classifier
        self.num_features = classifier.config.channels[-1]

    def forward(self, images):
        return self.classifier.features(images)


@pytest.fixture(scope="module")
def classifier():
    torch.manual_seed(0)
    return SmallCNN(CNNConfig(channels=(8, 16, 32), num_classes=30)).eval()


@pytest.mark.parametrize("n_real, n_fake, shift", [(200, 200, 0.0), (300, 150, 0.3), (120, 400, 1.0)])
def test_fid_equals_torchmetrics_with_the_same_features(classifier, n_real, n_fake, shift):
    g = torch.Generator().manual_seed(n_real)
    real = torch.rand(n_real, 3, 32, 32, generator=g)
    fake = (torch.rand(n_fake, 3, 32, 32, generator=g) + shift).clamp(0, 1)
    theirs = FrechetInceptionDistance(feature=Features(classifier), normalize=True)
    theirs.update(real, real=True)
    theirs.update(fake, real=False)
    with torch.no_grad():
        ours = frechet_distance(classifier.features(fake), classifier.features(real))
    assert ours == pytest.approx(float(theirs.compute()), rel=1e-4, abs=1e-5)


@pytest.mark.parametrize("n_fake", [70, 300])
def test_frechet_reference_equals_frechet_distance(n_fake):
    g = torch.Generator().manual_seed(n_fake)
    real, fake = torch.randn(400, 16, generator=g), torch.randn(n_fake, 16, generator=g) * 1.3 + 0.2
    assert FrechetReference(real)(fake) == pytest.approx(frechet_distance(fake, real), rel=1e-9)
    with pytest.raises(ValueError, match="fake must be"):
        FrechetReference(real)(fake[:10])
    with pytest.raises(ValueError, match="real has 10 rows"):
        FrechetReference(real[:10])


def test_inception_score_equals_torchmetrics(classifier):
    g = torch.Generator().manual_seed(1)
    logits = torch.randn(64, 10, generator=g) * 3

    class Logits(torch.nn.Module):
        def forward(self, x):
            return x

    theirs = InceptionScore(feature=Logits(), splits=1)
    theirs.update(logits)
    assert inception_score(logits) == pytest.approx(float(theirs.compute()[0]), rel=1e-5)


def test_inception_score_bounds():
    assert inception_score(torch.zeros(8, 5)) == pytest.approx(1.0)  # every image the same vague class
    confident = torch.eye(5).repeat(2, 1) * 50  # each image one class, classes spread evenly
    assert inception_score(confident) == pytest.approx(5.0, rel=1e-3)


class TensorFeatures(torch.nn.Module):
    """torchmetrics 1.9's CLIPScore calls .norm() on get_image_features(); transformers 5
    returns a BaseModelOutputWithPooling there (AttributeError), so hand it the tensor."""

    def __init__(self, model):
        super().__init__()
        self.model, self.config = model, model.config

    def get_image_features(self, *args, **kwargs):
        return self.model.get_image_features(*args, **kwargs).pooler_output

    def get_text_features(self, *args, **kwargs):
        return self.model.get_text_features(*args, **kwargs).pooler_output


@pytest.mark.parametrize("seed", [0, 1])
def test_clip_score_equals_torchmetrics(seed):
    torch.manual_seed(seed)
    model, processor = tiny.clip().eval(), processors.clip()
    g = torch.Generator().manual_seed(seed)
    images = [torch.randint(0, 255, (3, 32, 32), generator=g, dtype=torch.uint8) for _ in range(4)]
    captions = ["a red circle", "a blue square", "two green stars", "a photo"]
    with torch.no_grad():
        theirs, _ = _clip_score_update(images, captions, TensorFeatures(model), processor)
        pixels = processor(images=images, return_tensors="pt")["pixel_values"]
        img = model.get_image_features(pixel_values=pixels)
        txt = model.get_text_features(**processor(text=captions, return_tensors="pt", padding=True))
    img = getattr(img, "pooler_output", img)
    txt = getattr(txt, "pooler_output", txt)
    assert clip_score(img, txt, convention="torchmetrics") == pytest.approx(theirs, abs=1e-3)


def test_clip_score_conventions():
    a = torch.tensor([[1.0, 0.0], [1.0, 0.0]])
    b = torch.tensor([[1.0, 1.0], [-1.0, 0.0]])
    hessel = clip_score(a, b)
    assert hessel.tolist() == pytest.approx([2.5 / np.sqrt(2), 0.0])  # negative cosines clip to 0
    assert clip_score(a, b, convention="torchmetrics").tolist() == pytest.approx([100 / np.sqrt(2), -100.0])


def test_fid_infinity_recovers_the_intercept_of_a_line(monkeypatch):
    import mmcourse.metrics.generation as gen

    monkeypatch.setattr(gen, "frechet_distance_at", lambda fake, real, n, seed=0: 3.0 + 50.0 / n)
    out = fid_infinity(torch.zeros(2, 2), torch.zeros(2, 2), [100, 200, 400])
    assert out["fid_inf"] == pytest.approx(3.0) and out["slope"] == pytest.approx(50.0)


def test_fid_falls_with_more_samples_from_the_same_distribution():
    g = torch.Generator().manual_seed(0)
    real, fake = torch.randn(2000, 8, generator=g), torch.randn(2000, 8, generator=g)
    assert frechet_distance_at(fake, real, 50) > frechet_distance_at(fake, real, 1000)


@pytest.mark.parametrize("a, b, error, match", [
    (torch.rand(50, 8), torch.rand(50, 6), ValueError, "same feature width"),
    (torch.rand(5, 8), torch.rand(50, 8), ValueError, r"real \(5 rows\) .* more samples than feature dimensions"),
    (torch.rand(50, 8), torch.full((50, 8), float("nan")), ValueError, "fake"),
])
def test_fid_refuses_what_it_cannot_estimate(a, b, error, match):
    with pytest.raises(error, match=match):
        fid(a, b)


def test_fid_is_the_frechet_distance_of_fake_to_real():
    g = torch.Generator().manual_seed(3)
    real, fake = torch.randn(100, 4, generator=g), torch.randn(80, 4, generator=g) + 1
    assert fid(real, fake) == frechet_distance(fake, real)


def test_bad_input_names_the_argument():
    with pytest.raises(ValueError, match="image_embeds .* and text_embeds"):
        clip_score(torch.rand(3, 4), torch.rand(2, 4))
    with pytest.raises(ValueError, match="sizes"):
        fid_infinity(torch.rand(30, 2), torch.rand(30, 2), [10, 10])
    with pytest.raises(ValueError, match="n=40"):
        frechet_distance_at(torch.rand(30, 2), torch.rand(30, 2), 40)
