"""Interactive demos that degrade to static figures.

In Jupyter or Colab, :func:`demo` shows ipywidgets controls that redraw a figure.
When no widget frontend can show them (CI, papermill, ``make course``, plain Python:
``$MMCOURSE_HEADLESS=1`` or no IPython kernel), it draws the figure for a few
example settings instead, so executed notebooks still show something useful.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from .contracts import Function, Instance, contract


def headless() -> bool:
    """True when widgets cannot be shown: ``$MMCOURSE_HEADLESS=1`` or not in a kernel."""
    if os.environ.get("MMCOURSE_HEADLESS", "") == "1":
        return True
    try:
        from IPython import get_ipython
    except ImportError:  # pragma: no cover
        return True
    shell = get_ipython()
    return shell is None or type(shell).__name__ != "ZMQInteractiveShell"


def _show(result: Any) -> None:
    import matplotlib.pyplot as plt
    from matplotlib.figure import Figure

    if isinstance(result, Figure):
        try:
            from IPython.display import display

            display(result)
        finally:
            plt.close(result)
    elif result is not None:
        from IPython.display import display

        display(result)


@contract(fn=Function(), controls=Instance(Mapping, "a dict of argument name -> widget or abbreviation"))
def demo(
    fn: Callable[..., Any],
    controls: Mapping[str, Any],
    *,
    examples: Sequence[Mapping[str, Any]] | None = None,
) -> Any:
    """Show ``fn`` with live controls, or (headless) its result for a few ``examples``.

    Args:
        fn: draws something from keyword arguments; may return a matplotlib Figure.
        controls: ipywidgets abbreviations or widgets per argument, e.g.
            ``{"color": ["red", "blue"], "radius": (4.0, 12.0, 0.5)}``.
        examples: keyword sets to draw when headless (default: each control's default).

    Returns:
        The ``ipywidgets.interactive`` widget, or the list of static results.

    Used in: chapters 00, 01, 02, 03, 04, 05, 06, 07
    """
    if not callable(fn):
        raise TypeError(f"fn must be callable; got {type(fn).__name__}")
    if not isinstance(controls, Mapping) or not controls:
        raise ValueError("controls must be a non-empty mapping of argument name -> widget/abbreviation")
    import ipywidgets

    widgets = {k: ipywidgets.interactive.widget_from_abbrev(v) for k, v in controls.items()}
    if headless():
        sets = list(examples) if examples else [{k: w.value for k, w in widgets.items()}]
        results = []
        for kwargs in sets:
            result = fn(**kwargs)
            _show(result)
            results.append(result)
        return results

    def redraw(**kwargs: Any) -> None:
        _show(fn(**kwargs))

    ui = ipywidgets.interactive(redraw, **widgets)
    from IPython.display import display

    display(ui)
    return ui
