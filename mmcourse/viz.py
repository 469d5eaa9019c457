"""Figures: image grids with captions, heatmaps, training curves, tables, source code.

Every function returns the matplotlib ``Figure`` (or the text it shows), so notebooks
can both display it and test it.
"""

from __future__ import annotations

import inspect
from collections.abc import Mapping, Sequence
from typing import Any

import matplotlib.pyplot as plt
import numpy as np
import torch
from matplotlib.figure import Figure
from PIL import Image

from .contracts import Duck, Instance, Int, ListOf, contract
from .train import History


@contract(img=Instance((torch.Tensor, np.ndarray, Image.Image), "an image: a tensor, a NumPy array or a PIL image"))
def to_numpy_image(img: Any) -> np.ndarray:
    """A (3, H, W) / (H, W, 3) / (H, W) tensor, array or PIL image -> (H, W[, 3]) array in [0, 1].

    Used in: chapters 00, 01, 02
    """
    if hasattr(img, "convert") and hasattr(img, "size"):  # PIL
        return np.asarray(img.convert("RGB"), dtype=np.float32) / 255.0
    if isinstance(img, torch.Tensor):
        img = img.detach().float().cpu().numpy()
    arr = np.asarray(img)
    if arr.ndim == 3 and arr.shape[0] in (1, 3) and arr.shape[-1] not in (1, 3):
        arr = arr.transpose(1, 2, 0)  # channels-first -> channels-last
    if arr.ndim == 3 and arr.shape[-1] == 1:
        arr = arr[..., 0]
    if arr.ndim not in (2, 3):
        raise ValueError(f"img must be an image of shape (3, H, W), (H, W, 3) or (H, W); got {arr.shape}")
    if arr.dtype == np.uint8:
        return arr.astype(np.float32) / 255.0
    return np.clip(arr.astype(np.float32), 0.0, 1.0)


@contract(ncols=Int(min=1))
def image_grid(
    images: Sequence[Any] | torch.Tensor,
    captions: Sequence[str] | None = None,
    *,
    ncols: int = 8,
    colors: Sequence[str] | None = None,
    size: float = 1.6,
    title: str | None = None,
) -> Figure:
    """Show images in a grid, each with an optional caption (coloured per ``colors``).

    ``images`` is a batch (a (B, C, H, W) tensor or a list of images); one (C, H, W) image
    tensor (C = 1 or 3) is shown as one image, not as C grey ones.

    Used in: chapters 00, 01, 02, 03, 04, 05, 06
    """
    if isinstance(images, torch.Tensor) and images.dim() == 3 and images.shape[0] in (1, 3):
        images = images[None]  # one image, not three grey ones
    if isinstance(images, (str, bytes)) or not hasattr(images, "__len__"):
        raise TypeError(f"images must be a batch of images (a tensor or a list); got {type(images).__name__}")
    n = len(images)
    if n == 0:
        raise ValueError("images is empty")
    if captions is not None and len(captions) != n:
        raise ValueError(f"captions has {len(captions)} entries for {n} images")
    ncols = max(1, min(ncols, n))
    nrows = -(-n // ncols)
    fig, axes = plt.subplots(nrows, ncols, figsize=(size * ncols, size * nrows + 0.3 * (captions is not None)))
    axes = np.atleast_1d(axes).ravel()
    for i, ax in enumerate(axes):
        ax.axis("off")
        if i >= n:
            continue
        arr = to_numpy_image(images[i])
        ax.imshow(arr, cmap="gray" if arr.ndim == 2 else None, vmin=0, vmax=1, interpolation="nearest")
        if captions is not None:
            ax.set_title(captions[i], fontsize=7, color=colors[i] if colors else "black")
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    return fig


@contract(matrix=Instance((torch.Tensor, np.ndarray), "a 2-D tensor or NumPy array"))
def heatmap(
    matrix: torch.Tensor | np.ndarray,
    row_labels: Sequence[str] | None = None,
    col_labels: Sequence[str] | None = None,
    *,
    title: str | None = None,
    fmt: str = ".2f",
    cmap: str = "viridis",
    annotate: bool | None = None,
    xlabel: str | None = None,
    ylabel: str | None = None,
) -> Figure:
    """A labelled heatmap (similarity matrices, confusion matrices, attention maps).

    Used in: chapters 00, 02, 03
    """
    if isinstance(matrix, torch.Tensor):
        matrix = matrix.detach().cpu()
        matrix = matrix if matrix.dtype in (torch.int32, torch.int64) else matrix.float()
    m = np.asarray(matrix)
    if m.ndim != 2:
        raise ValueError(f"matrix must be 2-D; got shape {m.shape}")
    R, C = m.shape
    fig, ax = plt.subplots(figsize=(min(12, 1.0 + 0.55 * C), min(10, 0.8 + 0.45 * R)))
    im = ax.imshow(m, cmap=cmap, aspect="auto")
    fig.colorbar(im, ax=ax, fraction=0.046, pad=0.04)
    if row_labels is not None:
        ax.set_yticks(range(R), row_labels, fontsize=8)
    if col_labels is not None:
        ax.set_xticks(range(C), col_labels, fontsize=8, rotation=45, ha="right")
    if annotate is None:
        annotate = R * C <= 100
    if annotate:
        mid = (np.nanmax(m) + np.nanmin(m)) / 2
        for i in range(R):
            for j in range(C):
                ax.text(j, i, format(m[i, j], fmt), ha="center", va="center", fontsize=7,
                        color="white" if m[i, j] < mid else "black")
    if xlabel:
        ax.set_xlabel(xlabel)
    if ylabel:
        ax.set_ylabel(ylabel)
    if title:
        ax.set_title(title)
    fig.tight_layout()
    return fig


@contract(history=Instance(History, "the History that fit() returns"), smooth=Int(min=1))
def plot_history(history: History, *, title: str | None = None, smooth: int = 20) -> Figure:
    """Loss per step (raw and smoothed) and, if any, the evaluation metrics.

    Used in: chapters 00, 01, 02, 04
    """
    if not isinstance(history, History):
        raise TypeError(f"history must be the History returned by fit(); got {type(history).__name__}")
    if not history.loss:
        raise ValueError("history is empty: fit() recorded no steps")
    metrics = sorted({k for e in history.evals for k in e if k != "step"})
    ncols = 1 + bool(metrics)
    fig, axes = plt.subplots(1, ncols, figsize=(5 * ncols, 3.2))
    axes = np.atleast_1d(axes)
    loss = np.asarray(history.loss)
    axes[0].plot(history.step, loss, alpha=0.3, label="loss")
    k = max(1, min(smooth, len(loss) // 5 or 1))
    if k > 1:
        smoothed = np.convolve(loss, np.ones(k) / k, mode="valid")
        axes[0].plot(history.step[k - 1 :], smoothed, label=f"mean of {k}")
    axes[0].set_xlabel("step")
    axes[0].set_ylabel("loss")
    axes[0].set_yscale("log" if loss.min() > 0 else "linear")
    axes[0].legend(fontsize=8)
    axes[0].set_title(f"{history.steps} steps in {history.seconds:.1f} s")
    if metrics:
        for name in metrics:
            pts = [(e["step"], e[name]) for e in history.evals if name in e]
            axes[1].plot(*zip(*pts), marker="o", label=name)
        axes[1].set_xlabel("step")
        axes[1].legend(fontsize=8)
        axes[1].set_title("evaluation")
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    return fig


@contract(values=Instance(Mapping, "a dict of name -> value"))
def bar(values: Mapping[str, float], *, title: str | None = None, xlabel: str | None = None) -> Figure:
    """A horizontal bar chart of named values (probabilities, scores)."""
    if not values:
        raise ValueError("values is empty")
    names, vals = list(values), [float(v) for v in values.values()]
    fig, ax = plt.subplots(figsize=(4.5, 0.35 * len(names) + 0.8))
    ax.barh(names, vals, color="tab:blue")
    ax.invert_yaxis()
    if xlabel:
        ax.set_xlabel(xlabel)
    if title:
        ax.set_title(title)
    fig.tight_layout()
    return fig


@contract(rows=ListOf(Instance(Mapping, "a dict"), "dicts (one per row)"))
def table(rows: Sequence[Mapping[str, Any]], *, floatfmt: str = ".3g", display: bool = True) -> str:
    """Show a list of dicts as a Markdown table (returned as text as well).

    Used in: chapters 01, 02, 03, 04, 05, 06, 07
    """
    if not rows:
        raise ValueError("rows is empty")
    cols = list(dict.fromkeys(k for r in rows for k in r))

    def fmt(v: Any) -> str:
        # tokens such as <image> or </s> are text, not HTML tags; a | would end the cell
        text = format(v, floatfmt) if isinstance(v, float) else str(v)
        return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace("|", "\\|")

    lines = ["| " + " | ".join(cols) + " |", "|" + "---|" * len(cols)]
    lines += ["| " + " | ".join(fmt(r.get(c, "")) for c in cols) + " |" for r in rows]
    text = "\n".join(lines)
    if display:
        _display_markdown(text)
    return text


def _without_contracts(src: str) -> str:
    """Source without its ``@contract(...)`` decorators: they say what the arguments may be,
    the lesson is the code below them."""
    out, depth = [], 0
    for line in src.splitlines(keepends=True):
        if depth == 0 and line.lstrip().startswith("@contract("):
            depth = line.count("(") - line.count(")")
            continue
        if depth > 0:
            depth += line.count("(") - line.count(")")
            continue
        out.append(line)
    return "".join(out)


@contract(obj=Duck(("__name__",), "a function, class or module with source code"))
def show_source(obj: Any, *, display: bool = True) -> str:
    """Display the source code of a package function or class (instead of copying it),
    without the argument contracts.

    Used in: chapters 00, 02, 03, 04, 05, 06, 07
    """
    try:
        src = _without_contracts(inspect.getsource(obj))
    except (TypeError, OSError) as err:
        raise TypeError(f"obj must be a Python function, class or module with source; got {obj!r}") from err
    if display:
        try:
            from IPython.display import Code
            from IPython.display import display as ipy_display

            ipy_display(Code(src, language="python"))
        except ImportError:  # pragma: no cover - IPython ships with the package's deps
            print(src)
    return src


def _display_markdown(text: str) -> None:
    try:
        from IPython import get_ipython
        from IPython.display import Markdown, display

        if get_ipython() is not None:
            display(Markdown(text))
            return
    except ImportError:  # pragma: no cover
        pass
    print(text)

