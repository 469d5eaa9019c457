"""Sphinx configuration of the course book (``make book``).

``python -m mmcourse book`` copies this file next to the pages it assembles under
``build/book-src/`` (the executed notebooks of ``make course``, the exercises, the
evaluation report, the zoo and hub tables, the references) and runs Sphinx on them.
Everything the site loads ships with it: MathJax comes from the ``django-static-mathjax``
wheel, the theme's fonts and icons from ``pydata-sphinx-theme``; no page fetches anything
from another host, so the book reads offline.
"""

from __future__ import annotations

from pathlib import Path

import mathjax  # django-static-mathjax: MathJax 3 as static files (no CDN)

project = "mmcourse"
author = "the mmcourse authors"
copyright = "the mmcourse authors"  # noqa: A001 (Sphinx's name)
REPOSITORY = "https://github.com/mmcourse/mmcourse"

extensions = ["myst_nb"]
exclude_patterns = ["_build", "**.ipynb_checkpoints"]
master_doc = "index"

# The notebooks were executed by `make course`: render their saved outputs as they are.
nb_execution_mode = "off"
nb_output_stderr = "remove"  # progress bars; errors are error outputs, kept
nb_merge_streams = True
nb_render_markdown_format = "myst"  # Markdown outputs (viz.table) have tables
myst_enable_extensions = ["dollarmath", "amsmath", "colon_fence"]
suppress_warnings = ["mystnb.unknown_mime_type", "myst.header"]

# MathJax 3 served from the site itself.
_MATHJAX = Path(mathjax.__file__).parent / "static" / "mathjax" / "es5"
html_static_path = ["_static"]
mathjax_path = "mathjax/tex-mml-chtml.js"

html_theme = "sphinx_book_theme"
html_title = "mmcourse — multimodal AI, built and measured"
html_show_sourcelink = False
html_favicon = "_static/favicon.png"
html_search_scorer = "_static/scorer.js"  # chapters rank ahead of their exercises
html_context = {"default_mode": "light"}
html_theme_options = {
    "repository_url": REPOSITORY,
    "repository_branch": "main",
    "path_to_docs": "",
    "use_repository_button": True,
    "launch_buttons": {"colab_url": "https://colab.research.google.com", "notebook_interface": "classic"},
    "show_toc_level": 2,
    "home_page_in_toc": True,
}


def _copy_mathjax(app, exception) -> None:
    """Put MathJax's browser build (script, fonts, TeX extensions) under _static/mathjax."""
    import shutil

    if exception is None and app.builder.format == "html":
        target = Path(app.outdir) / "_static" / "mathjax"
        shutil.copytree(_MATHJAX, target, dirs_exist_ok=True,
                        ignore=shutil.ignore_patterns("*.map", "mml-*", "tex-svg*", "tex-chtml-full*"))


def setup(app) -> None:
    app.connect("build-finished", _copy_mathjax)
