import time

import numpy as np
import pytest
import torch
from PIL import Image

from mmcourse.data import make_qa, make_shapes, real, scene
from mmcourse.data.shapes import COLORS, HOLDOUT_PAIRS, SHAPES


def test_shapes_tensor_layout_and_range():
    d = make_shapes(64, seed=0)
    assert d.images.shape == (64, 3, 32, 32) and d.images.dtype == torch.float32
    assert 0.0 <= d.images.min() and d.images.max() <= 1.0
    assert d.colors.shape == d.shapes.shape == d.radii.shape == (64, 1)
    assert d.centers.shape == (64, 1, 2) and d.count.tolist() == [1] * 64
    assert len(d.captions) == len(d) == 64
    assert len(COLORS) >= 6 and len(SHAPES) >= 5


def test_same_seed_same_images_other_seed_other_images():
    a, b, c = make_shapes(50, seed=3), make_shapes(50, seed=3), make_shapes(50, seed=4)
    assert torch.equal(a.images, b.images) and a.captions == b.captions
    assert not torch.equal(a.images, c.images)


def test_twenty_thousand_images_in_under_five_seconds():
    make_shapes(100, seed=0)  # warm up NumPy
    start = time.perf_counter()
    d = make_shapes(20_000, seed=0)
    elapsed = time.perf_counter() - start
    assert len(d) == 20_000
    assert elapsed <= 5.0, f"20k images took {elapsed:.1f} s"


def test_pixels_agree_with_labels():
    """The colour at each object's centre is its label's colour (labels match pixels)."""
    d = make_shapes(300, noise=0.0, seed=1)
    palette = torch.tensor(list(COLORS.values()))
    for i in range(len(d)):
        x, y = (int(v) for v in d.centers[i, 0])
        pixel = d.images[i, :, y, x]
        nearest = int(((palette - pixel) ** 2).sum(1).argmin())
        assert nearest == int(d.colors[i, 0]), f"image {i}: centre pixel {pixel} is not {d.captions[i]}"


def test_every_colour_and_shape_appears_and_classes_are_balanced():
    d = make_shapes(3000, seed=0)
    counts = torch.bincount(d.label("pair"), minlength=30)
    assert (counts > 50).all() and (counts < 150).all()


def test_labels_and_class_names():
    d = make_shapes(10, seed=0)
    names = d.class_names("pair")
    for i in range(10):
        obj = d.objects(i)[0]
        assert names[int(d.label("pair")[i])] == f"{obj.color} {obj.shape}"
        assert d.class_names("shape")[int(d.label("shape")[i])] == obj.shape
        assert d.class_names("color")[int(d.label("color")[i])] == obj.color
        assert obj.color in d.captions[i] and obj.shape in d.captions[i]
    with pytest.raises(ValueError, match="target must be one of \\['shape'"):
        d.label("size")


def test_holdout_pairs_are_kept_out_of_training():
    held = {f"{c} {s}" for c, s in HOLDOUT_PAIRS}
    train = make_shapes(2000, objects=(1, 3), split="train", seed=0)
    test = make_shapes(300, split="holdout", seed=1)
    for i in range(len(train)):
        assert not {o.name for o in train.objects(i)} & held
    assert all(test.objects(i)[0].name in held for i in range(len(test)))
    # every colour and every shape is still seen in training
    seen = {o.name for i in range(len(train)) for o in train.objects(i)}
    assert {n.split()[0] for n in seen} == set(COLORS) and {n.split()[1] for n in seen} == set(SHAPES)


def test_multi_object_scenes_do_not_overlap():
    d = make_shapes(500, objects=(2, 4), seed=2)
    assert d.count.min() == 2 and d.count.max() == 4
    for i in range(len(d)):
        objs = d.objects(i)
        for a in range(len(objs)):
            for b in range(a + 1, len(objs)):
                oa, ob = objs[a], objs[b]
                dist = np.hypot(oa.x - ob.x, oa.y - ob.y)
                assert dist > 1.2 * (oa.radius + ob.radius) - 1e-3
        assert d.captions[i].count(" and ") == 1


def test_questions_have_consistent_answers():
    d = make_shapes(400, objects=(1, 4), seed=5)
    qa = make_qa(d, per_image=2, seed=0)
    assert len(qa) == 800 and {q.kind for q in qa} == {"color", "shape", "count", "position", "yesno"}
    for q in qa:
        objs = d.objects(q.index)
        if q.kind == "count":
            assert q.answer == str(len(objs))
        elif q.kind == "color":
            shape = q.question.split("the ")[1].rstrip("?")
            assert [o.color for o in objs if o.shape == shape] == [q.answer]
        elif q.kind == "shape":
            color = q.question.split("the ")[1].split()[0]
            assert [o.shape for o in objs if o.color == color] == [q.answer]
        elif q.kind == "yesno":
            name = q.question.removeprefix("is there ").removeprefix("an ").removeprefix("a ").rstrip("?")
            assert q.answer == ("yes" if name in {o.name for o in objs} else "no")
        elif q.kind == "position":
            name = q.question.split("the ")[1].rstrip("?")
            (o,) = [o for o in objs if o.name == name]
            assert q.answer == (o.hpos if len(objs) == 1 else f"{o.vpos} {o.hpos}")


def test_captions_use_the_right_article():
    d = make_shapes(300, colors=["orange"], seed=0)
    assert not any(" a orange" in c or c.startswith("a orange") for c in d.captions)


@pytest.mark.parametrize("kwargs, error, match", [
    ({"n": 0}, ValueError, "n must be a positive int"),
    ({"n": -5}, ValueError, "n must be a positive int"),
    ({"n": 10, "colors": ["red", "magenta"]}, ValueError, r"colors: unknown name\(s\) \['magenta'\]"),
    ({"n": 10, "shapes": ["hexagon"]}, ValueError, r"shapes: unknown name\(s\) \['hexagon'\]"),
    ({"n": 10, "colors": "red"}, TypeError, r"colors must be a non-empty list of non-empty strings.*wrap it"),
    ({"n": 10, "objects": 5}, ValueError, "objects must be an int in 1..4"),
    ({"n": 10, "split": "val"}, ValueError, "split must be one of \\['all', 'train', 'holdout'\\]; got str 'val'"),
    ({"n": 10, "size": 8}, ValueError, "size must be an int >= 16"),
    ({"n": 10, "noise": 2}, ValueError, "noise"),
    ({"n": 10, "colors": ["green"], "shapes": ["circle"], "split": "train"}, ValueError, "leaves no"),
])
def test_bad_shapes_requests_name_the_argument(kwargs, error, match):
    with pytest.raises(error, match=match):
        make_shapes(**kwargs)


def test_hand_made_scene():
    img = scene([("red", "circle"), ("blue", "square")], noise=0.0)
    assert img.shape == (3, 32, 32)
    assert img[0, 8, 8] > 0.8 and img[2, 8, 24] > 0.8  # red top-left, blue top-right
    with pytest.raises(ValueError, match="objects: unknown colour 'pink'"):
        scene([("pink", "circle")])
    with pytest.raises(ValueError, match="1..4"):
        scene([])


def test_shipped_photos_load_offline():
    photos = real.photos()
    assert len(photos) >= 8
    for p in photos:
        assert isinstance(p.image, Image.Image) and p.image.mode == "RGB"
        assert min(p.image.size) >= 256 and p.label and p.source
    assert real.photo("chelsea").label == "a cat"
    with pytest.raises(ValueError, match="name must be one of \\['chelsea'.*got str 'dog'"):
        real.photo("dog")
