import pytest
import torch
from matplotlib.figure import Figure

from mmcourse import viz, widgets
from mmcourse.data import make_shapes, real
from mmcourse.train import History


def test_image_grid_accepts_tensors_arrays_and_pil():
    d = make_shapes(5, seed=0)
    fig = viz.image_grid(d.images, d.captions, ncols=3, colors=["red"] * 5)
    assert isinstance(fig, Figure) and len(fig.axes) == 6
    assert [a.get_title() for a in fig.axes[:5]] == d.captions
    photo = real.photo("coins").image
    viz.image_grid([photo, d.images[0].permute(1, 2, 0).numpy(), torch.rand(16, 16)])
    with pytest.raises(ValueError, match="captions has 1 entries for 5 images"):
        viz.image_grid(d.images, ["x"])
    with pytest.raises(ValueError, match="images is empty"):
        viz.image_grid([])
    with pytest.raises(ValueError, match="img must be an image"):
        viz.to_numpy_image(torch.rand(2, 3, 4, 5))


def test_heatmap_labels_and_annotations():
    fig = viz.heatmap(torch.eye(3, dtype=torch.long), ["a", "b", "c"], ["x", "y", "z"], fmt="d")
    texts = [t.get_text() for t in fig.axes[0].texts]
    assert texts.count("1") == 3 and texts.count("0") == 6
    assert len(viz.heatmap(torch.rand(20, 20)).axes[0].texts) == 0  # too big to annotate
    with pytest.raises(ValueError, match="2-D"):
        viz.heatmap(torch.rand(3))


def test_plot_history():
    h = History(step=[1, 2, 3], loss=[3.0, 2.0, 1.0], time=[0.1, 0.2, 0.3], lr=[1e-3] * 3,
                evals=[{"step": 3, "acc": 0.9}])
    fig = viz.plot_history(h, title="t")
    assert len(fig.axes) == 2 and "3 steps" in fig.axes[0].get_title()
    with pytest.raises(ValueError, match="empty"):
        viz.plot_history(History())
    with pytest.raises(TypeError, match="History"):
        viz.plot_history({"loss": [1]})


def test_table_bar_and_show_source(capsys):
    text = viz.table([{"a": 1, "b": 0.123456}, {"a": 2}], display=False)
    assert text.splitlines()[0] == "| a | b |" and "0.123" in text and text.count("\n") == 3
    assert isinstance(viz.bar({"x": 0.2, "y": 0.8}), Figure)
    src = viz.show_source(viz.table, display=False)
    assert src.startswith("def table(")
    with pytest.raises(TypeError, match="source"):
        viz.show_source(3)


def test_widget_demo_degrades_to_static_figures(monkeypatch):
    monkeypatch.setenv("MMCOURSE_HEADLESS", "1")
    calls = []

    def draw(color="red", radius=5.0):
        calls.append((color, radius))
        return viz.bar({color: radius})

    out = widgets.demo(draw, {"color": ["red", "blue"], "radius": (1.0, 9.0, 1.0)})
    assert calls == [("red", 5.0)] and len(out) == 1  # defaults: first option, slider middle
    widgets.demo(draw, {"color": ["red", "blue"]}, examples=[{"color": "blue"}, {"color": "red"}])
    assert calls[1:] == [("blue", 5.0), ("red", 5.0)]
    assert widgets.headless()
    with pytest.raises(ValueError, match="controls"):
        widgets.demo(draw, {})
    with pytest.raises(TypeError, match="fn must be a callable"):
        widgets.demo(3, {"a": [1]})


def test_table_cells_are_text_not_html():
    text = viz.table([{"token": "<image>", "label": "</s>", "note": "a|b & c"}], display=False)
    row = text.splitlines()[2]
    assert "&lt;image&gt;" in row, f"a token like <image> must be escaped, or Markdown renders it as a tag: {row}"
    assert "&lt;/s&gt;" in row, f"</s> must be escaped: {row}"
    assert "a\\|b &amp; c" in row, f"a | must not end the cell and & must stay text: {row}"
