"""The inputs a beginner passes get messages that say how to fix them (not a torch trace)."""

import numpy as np
import pytest
import torch
from PIL import Image

from mmcourse import audio, data, viz, zeroshot, zoo
from mmcourse.models import CNNConfig, SmallCNN


@pytest.fixture(scope="module")
def cnn():
    return SmallCNN(CNNConfig(num_classes=5)).eval()


def test_uint8_images_say_divide_by_255(cnn):
    pixels = (torch.rand(2, 3, 32, 32) * 255).to(torch.uint8)
    with pytest.raises(TypeError, match=r"x must be a float tensor.*divide by 255 first, x.float\(\) / 255"):
        cnn(pixels)


def test_numpy_images_say_how_to_convert(cnn):
    with pytest.raises(TypeError, match=r"NumPy .*convert it: torch.from_numpy\(array\).float\(\).permute\(2, 0, 1\)"):
        cnn(np.zeros((32, 32, 3), np.float32))


def test_pil_images_say_how_to_convert(cnn):
    with pytest.raises(TypeError, match=r"PIL image .*convert it: torch.from_numpy\(np.asarray\(img.convert"):
        cnn(Image.new("RGB", (32, 32)))


def test_one_image_without_a_batch_says_add_the_batch_dimension(cnn):
    with pytest.raises(ValueError, match=r"one image: add the batch dimension, x\[None\]"):
        cnn(torch.rand(3, 32, 32))


def test_channels_last_says_permute(cnn):
    with pytest.raises(ValueError, match=r"channels come last: use x.permute\(0, 3, 1, 2\)"):
        cnn(torch.rand(2, 32, 32, 3))


def test_a_bare_string_where_a_list_is_expected_says_wrap_it():
    model = zoo.load("clip-shapes")
    with pytest.raises(TypeError, match=r"classnames must be a non-empty list.*wrap it, e.g. \['red circle'\]"):
        zeroshot.class_embeddings(model, "red circle")


def test_a_single_image_is_drawn_as_one_image_not_three_grey_ones():
    fig = viz.image_grid(torch.rand(3, 16, 16), ["one"])
    drawn = [ax for ax in fig.axes if ax.images]
    assert len(drawn) == 1 and drawn[0].images[0].get_array().shape == (16, 16, 3)


def test_colour_is_accepted_as_a_spelling_of_color():
    ds = data.make_shapes(4, seed=0)
    assert torch.equal(ds.label("colour"), ds.label("color"))
    assert ds.class_names("colour") == list(data.COLORS)
    with pytest.raises(ValueError, match=r"target must be one of \['shape'.*got str 'hue'"):
        ds.label("hue")


def test_a_data_set_has_a_short_repr():
    text = repr(data.make_shapes(2000, seed=0))
    assert len(text) < 120 and text.startswith("ShapesData(2000 images of (3, 32, 32)")


@pytest.mark.parametrize("wave, match", [
    ((torch.rand(16000) * 30000).to(torch.int16), r"int16 PCM: divide by 32768 first"),
    ((np.random.rand(16000) * 30000).astype(np.int16), r"int16 PCM: divide by 32768 first"),
    (torch.rand(2, 16000), r"2 channels: average them to mono, wave.mean\(0\)"),
    (torch.rand(16000, 2), r"2 channels: average them to mono, wave.mean\(1\)"),
])
def test_audio_beginner_inputs(wave, match):
    with pytest.raises((TypeError, ValueError), match=match):
        audio.log_mel_spectrogram(wave)
