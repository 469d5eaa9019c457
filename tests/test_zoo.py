import pytest

from mmcourse import zoo
from mmcourse.data import make_shapes
from mmcourse.metrics import accuracy, predict


def test_list_and_meta():
    rows = zoo.list()
    assert [r["name"] for r in rows] == ["shapes-cnn"] and rows[0]["test_accuracy"] >= 0.95
    meta = zoo.meta("shapes-cnn")
    assert {"config", "recipe", "metrics", "tolerance", "versions"} <= set(meta)
    with pytest.raises(ValueError, match="name='nope' is not in the zoo; known entries"):
        zoo.load("nope")


def test_checkpoint_is_small_and_reproduces_its_stored_metric():
    path = zoo.ZOO_DIR / "shapes-cnn" / "model.safetensors"
    assert path.stat().st_size <= zoo.MAX_BYTES
    meta = zoo.meta("shapes-cnn")
    data = meta["recipe"]["data"]
    test = make_shapes(data["n_test"], seed=data["test_seed"])
    model = zoo.load("shapes-cnn")
    acc = accuracy(predict(model, test.images), test.label(data["target"]))
    assert acc == pytest.approx(meta["metrics"]["test_accuracy"], abs=0.002)


def test_retraining_reproduces_the_metrics_within_tolerance(cfg, tmp_path):
    meta = zoo.meta("shapes-cnn")
    model, metrics = zoo.train("shapes-cnn", cfg=cfg, progress=False)
    for name, tol in meta["tolerance"].items():
        assert abs(metrics[name] - meta["metrics"][name]) <= tol, (name, metrics, meta["metrics"])
    folder = zoo.save("shapes-cnn", model, metrics, seconds=1.0, directory=tmp_path)
    assert (folder / "model.safetensors").exists() and (folder / "meta.json").exists()
