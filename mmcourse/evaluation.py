"""An evaluation report of every zoo model, each number with a bootstrap 95 % interval.

``python -m mmcourse evaluate [names...]`` runs :func:`evaluate` and writes
``build/evaluation/report.json`` and ``report.md``; chapter 07 renders it. Each zoo entry
scores its own assembled model (``zoo.pipeline``) with its ``scorer``, on test sets drawn
from its recipe's seeds, and returns *per-example* scores (:class:`~mmcourse.metrics.stats.Metric`),
so every number gets an interval and two models scored on the same examples can be compared
with a paired bootstrap (:data:`COMPARISONS`). The test-set sizes are in each entry's
``REPORT`` and in the report (``n``).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import torch
from tqdm.auto import tqdm

from . import zoo
from .contracts import Int, contract
from .data.vocabulary import SEEN_PAIRS
from .metrics.stats import Metric, paired_bootstrap

#: The zoo entries with a scorer, in report order (lm-shapes is scored inside vlm-shapes).
MODELS = ["shapes-cnn", "clip-shapes", "vlm-shapes", "clap-sounds", "whisper-digits", "whisper-digits-no-specaugment",
          "video-motion", "vae-shapes", "vq-shapes", "ldm-shapes", "ddpm-pixel-shapes", "ddpm-latent-shapes",
          "unclip-shapes", "unified-shapes"]
#: (model A, metric, model B, metric): pairs scored on the same examples, for a paired bootstrap
COMPARISONS = [
    ("whisper-digits", "WER, unseen voices", "whisper-digits-no-specaugment", "WER, unseen voices"),
    ("video-motion", "direction, divided attention", "video-motion", "direction, frame attention"),
    ("ldm-shapes", "prompt accuracy, w=2", "ldm-shapes", "prompt accuracy, w=0"),
    ("unclip-shapes", "prompt accuracy, prior", "unclip-shapes", "prompt accuracy, caption embedding"),
]


def scores(name: str) -> dict[str, Metric]:
    """Zoo model ``name``'s per-example scores on its test sets (its entry's scorer)."""
    e = zoo.entry(name)
    return e.scorer(zoo.pipeline(name), e.recipe)


@contract(resamples=Int(min=10), seed=Int(min=0))
def evaluate(names: Sequence[str] | None = None, *, resamples: int = 1000, seed: int = 0,
             progress: bool = True) -> dict[str, Any]:
    """Score the named zoo models (all of :data:`MODELS` by default): ``{"models":
    {name: {metric: {value, low, high, n, higher_is_better}}}, "comparisons": [...]}``.

    Used in: chapter 07
    """
    names = list(MODELS) if names is None else list(names)
    unknown = [n for n in names if n not in MODELS]
    if isinstance(names, str) or unknown:
        raise ValueError(f"names: unknown model {unknown or names!r}; known: {MODELS}")
    raw, models = {}, {}
    for name in tqdm(names, desc="evaluate", disable=not progress):
        torch.manual_seed(seed)
        raw[name] = scores(name)
        models[name] = {k: m.score(resamples, seed) for k, m in raw[name].items()}
    comparisons = []
    for a, metric_a, b, metric_b in COMPARISONS:
        if a in raw and b in raw:
            ma, mb = raw[a][metric_a], raw[b][metric_b]
            sign = 1 if ma.higher_is_better else -1  # "A better" means a lower WER
            result = paired_bootstrap(sign * ma.values, sign * mb.values, resamples=resamples, seed=seed)
            comparisons.append({"a": f"{a}: {metric_a}", "b": f"{b}: {metric_b}", **result})
    return {"models": models, "comparisons": comparisons, "resamples": resamples, "seed": seed}


def _fmt(v: float) -> str:
    return f"{v:.3f}" if 0.1 <= abs(v) < 100 or v == 0 else f"{v:.4g}"


@contract()
def report_table(report: dict[str, Any]) -> str:
    """The report as a markdown table: model, metric, value, 95 % interval, n."""
    rows = ["| model | metric | value | 95 % interval | n |", "|---|---|---|---|---|"]
    for name, metrics in report["models"].items():
        for metric, s in metrics.items():
            arrow = "↑" if s["higher_is_better"] else "↓"
            rows.append(f"| {name} | {metric} {arrow} | {_fmt(s['value'])} | {_fmt(s['low'])} – {_fmt(s['high'])} "
                        f"| {s['n']} |")
    if report.get("comparisons"):
        rows += ["", "| A | B | A − B | 95 % interval | p (A not better) |", "|---|---|---|---|---|"]
        rows += [f"| {c['a']} | {c['b']} | {c['difference']:+.3f} | {c['low']:+.3f} – {c['high']:+.3f} | {c['p']:.3f} |"
                 for c in report["comparisons"]]
    return "\n".join(rows)


@contract()
def save_report(report: dict[str, Any], directory: str | Path = "build/evaluation") -> tuple[Path, Path]:
    """Write ``report.json`` and ``report.md`` under ``directory``; return their paths."""
    out = Path(directory)
    out.mkdir(parents=True, exist_ok=True)
    json_path, md_path = out / "report.json", out / "report.md"
    json_path.write_text(json.dumps(report, indent=1))
    md_path.write_text(report_table(report) + "\n")
    return json_path, md_path


__all__ = ["COMPARISONS", "MODELS", "SEEN_PAIRS", "Metric", "evaluate", "report_table", "save_report", "scores"]
