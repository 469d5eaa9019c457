"""Metrics against their library twins (scikit-learn)."""

import pytest
import torch
from sklearn import metrics as skm
from torch import nn

from mmcourse import metrics


@pytest.mark.parametrize("B, C, seed", [(1, 2, 0), (50, 5, 1), (333, 30, 2)])
def test_accuracy_matches_sklearn(B, C, seed):
    g = torch.Generator().manual_seed(seed)
    logits, labels = torch.randn(B, C, generator=g), torch.randint(0, C, (B,), generator=g)
    want = skm.accuracy_score(labels.numpy(), logits.argmax(1).numpy())
    assert metrics.accuracy(logits, labels) == pytest.approx(want)


@pytest.mark.parametrize("B, C, seed", [(10, 2, 0), (500, 7, 1)])
def test_confusion_matrix_matches_sklearn(B, C, seed):
    g = torch.Generator().manual_seed(seed)
    preds, labels = torch.randint(0, C, (B,), generator=g), torch.randint(0, C, (B,), generator=g)
    want = skm.confusion_matrix(labels.numpy(), preds.numpy(), labels=list(range(C)))
    assert metrics.confusion_matrix(preds, labels, C).numpy().tolist() == want.tolist()


def test_bad_inputs_are_named():
    with pytest.raises(ValueError, match="logits must be a 2-D float tensor"):
        metrics.accuracy(torch.randn(4), torch.zeros(4, dtype=torch.long))
    with pytest.raises(ValueError, match="logits and labels must have the same length; logits has 3, labels has 4"):
        metrics.accuracy(torch.randn(3, 2), torch.zeros(4, dtype=torch.long))
    with pytest.raises(ValueError, match="labels must be a 1-D int tensor"):
        metrics.accuracy(torch.randn(3, 2), torch.zeros(3, 1, dtype=torch.long))
    with pytest.raises(ValueError, match="num_classes"):
        metrics.confusion_matrix(torch.zeros(3, dtype=torch.long), torch.zeros(3, dtype=torch.long), 0)
    with pytest.raises(ValueError, match=r"\[0, num_classes=2\)"):
        metrics.confusion_matrix(torch.tensor([0, 2]), torch.tensor([0, 1]), 2)
    with pytest.raises(TypeError, match="logits must be a 2-D float tensor.*got list"):
        metrics.accuracy([[0.1, 0.9]], [1])


def test_predict_batches_and_restores_mode():
    model = nn.Sequential(nn.Linear(3, 2), nn.Dropout(0.5))
    model.train()
    x = torch.randn(1030, 3)
    out = metrics.predict(model, x, batch_size=100)
    assert out.shape == (1030, 2) and model.training
    model.eval()
    assert torch.allclose(out, model(x), atol=1e-6)
