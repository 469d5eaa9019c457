"""The package's one-way layers, lowest first: the one list that ``tests/test_layers.py``
enforces (an import never points up a layer) and that the README's diagram and the package
docstring show (a test checks both against :func:`diagram`).

A name ending in ``/`` is a subpackage; the words after it say what it holds.
"""

from __future__ import annotations

import textwrap

#: (layer, [(top-level module or subpackage, what it holds)]), lowest first.
LAYERS: list[tuple[str, list[tuple[str, str]]]] = [
    ("base", [("runtime", ""), ("compat", ""), ("contracts", ""), ("layers", "")]),
    ("data & signals", [("data/", "vocabulary, render, words, shapes, sounds, motion, spoken digits, instructions"),
                        ("text", ""), ("patches", ""), ("audio", ""), ("video", ""), ("chat", ""), ("tokens", ""),
                        ("sequences", "")]),
    ("models", [("models/", "architectures only: layers, cnn, vit, fusion, clip, vlm/, video, audio, schedulers, "
                            "vae, unet, unclip, vq, unified")]),
    ("training", [("train", "lr_at, train_step, fit")]),
    ("tasks & metrics", [("zeroshot", ""), ("contrastive", ""), ("retrieval", ""), ("instruct", ""), ("audiotext", ""),
                         ("asr", ""), ("diffusion", ""), ("unconditional", ""), ("prior", ""), ("sampling", ""),
                         ("unified", ""), ("memory", ""), ("metrics/", ""), ("viz", ""), ("widgets", "")]),
    ("assets", [("zoo/", "tiny checkpoints, an entry per model: recipe, train, score, probe, replay"),
                ("hub/", "real checkpoints, stand-ins"), ("checks/", "exercise checks")]),
    ("reports", [("evaluation", "every zoo model scored, each number with a bootstrap interval")]),
    ("tools", [("_tools/", "cli, zoocmd, tables, grade, runner, course, book, budgets, authoring, fullrun, smoke, "
                           "classroom, exercise_index, submission, judge")]),
]


def layer_names() -> dict[str, str]:
    """Top-level module or subpackage name -> its layer."""
    return {module.rstrip("/"): layer for layer, modules in LAYERS for module, _ in modules}


def diagram(width: int = 100) -> str:
    """The layers as the README draws them: highest first, an arrow between layers."""
    blocks = []
    for layer, modules in reversed(LAYERS):
        items = [f"{m} ({note})" if note else m for m, note in modules]
        lines = textwrap.wrap("  ".join(items), width - 17, break_on_hyphens=False)
        blocks.append("\n".join([f"{layer:<17}{lines[0]}", *(" " * 17 + line for line in lines[1:])]))
    return "\n  ↓\n".join(blocks)
