"""Throughput of the foundation pieces on this machine; prints a Markdown table.

    .venv/bin/python benchmarks/foundation.py
"""

from __future__ import annotations

import time

import torch

import mmcourse
from mmcourse.data import Batches, make_shapes
from mmcourse.metrics import accuracy, predict
from mmcourse.models import CNNConfig, SmallCNN
from mmcourse.train import fit


def timed(fn, repeat: int = 3) -> float:
    best = float("inf")
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - start)
    return best


def main() -> None:
    cfg = mmcourse.setup("tiny", seed=0)
    rows = []
    for n, objects in [(20_000, 1), (20_000, (1, 4))]:
        s = timed(lambda n=n, objects=objects: make_shapes(n, objects=objects, seed=0))
        rows.append({"what": f"make_shapes({n}, objects={objects})", "seconds": s, "rate": f"{n / s:,.0f} img/s"})
    train, test = make_shapes(6000, seed=0), make_shapes(1000, seed=1)
    model = SmallCNN(CNNConfig(num_classes=30))
    h = fit(model, Batches(train.images, train.label("pair"), batch_size=128), steps=300, cfg=cfg, progress=False)
    acc = accuracy(predict(model, test.images), test.label("pair"))
    rows.append({"what": "SmallCNN 300 steps, batch 128", "seconds": h.seconds,
                 "rate": f"{300 / h.seconds:.1f} step/s, test acc {acc:.3f}"})
    print(f"\ntorch {torch.__version__}, {cfg.threads} threads\n")
    print(mmcourse.viz.table(rows, display=False))


if __name__ == "__main__":
    main()
