import pytest
import torch

from mmcourse.models import CNNConfig, SmallCNN


def test_small_cnn_shapes():
    model = SmallCNN(CNNConfig(num_classes=7, channels=(8, 16)))
    x = torch.rand(4, 3, 32, 32)
    assert model(x).shape == (4, 7)
    assert model.features(x).shape == (4, 16) and model.feature_dim == 16
    assert model(torch.rand(2, 3, 48, 40)).shape == (2, 7)  # any image size


def test_config_round_trip_and_validation():
    c = CNNConfig(channels=(4, 8), num_classes=3)
    assert CNNConfig.from_dict(c.to_dict()) == c
    with pytest.raises(ValueError, match="num_classes"):
        CNNConfig(num_classes=1)
    with pytest.raises(ValueError, match="channels"):
        CNNConfig(channels=())
    with pytest.raises(TypeError, match="config must be a CNNConfig"):
        SmallCNN({"num_classes": 3})


def test_bad_image_rank_or_channels():
    model = SmallCNN(CNNConfig())
    with pytest.raises(ValueError, match=r"shape \(batch, 3, height, width\)"):
        model(torch.rand(3, 32, 32))
    with pytest.raises(ValueError, match=r"shape \(batch, 3, height, width\)"):
        model(torch.rand(2, 1, 32, 32))
