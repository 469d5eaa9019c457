"""Embedding-index benchmark: build time, query latency and recall@10 against exact search.

    .venv/bin/python benchmarks/retrieval_index.py [--sizes 10000 100000 1000000] [--dim 64]

Vectors are clustered Gaussian data (1,000 centres), L2-normalised; 1,000 queries.
IVF uses nlist = 4 * sqrt(N) cells and nprobe = 16; HNSW uses M = 32, efSearch = 128.
"""

from __future__ import annotations

import argparse
import time

import torch

import mmcourse
from mmcourse.retrieval import EmbeddingIndex, recall_vs_exact


def clustered(n: int, dim: int, seed: int) -> torch.Tensor:
    g = torch.Generator().manual_seed(seed)
    centers = torch.randn(1000, dim, generator=g)
    return centers[torch.randint(0, 1000, (n,), generator=g)] + 0.5 * torch.randn(n, dim, generator=g)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[10_000, 100_000, 1_000_000])
    parser.add_argument("--dim", type=int, default=64)
    parser.add_argument("--backends", nargs="+", default=["exact", "faiss-flat", "faiss-ivf", "faiss-hnsw"])
    args = parser.parse_args()
    cfg = mmcourse.setup("tiny", seed=0)
    rows = []
    for n in args.sizes:
        gallery, queries = clustered(n, args.dim, 0), clustered(1000, args.dim, 1)
        exact_ids = None
        for backend in args.backends:
            start = time.perf_counter()
            index = EmbeddingIndex(args.dim, backend, nlist=int(4 * n**0.5), nprobe=16).add(gallery)
            build = time.perf_counter() - start
            start = time.perf_counter()
            _, ids = index.search(queries, 10)
            query = time.perf_counter() - start
            if backend == "exact":
                exact_ids = ids
            rows.append({"vectors": f"{n:,}", "backend": backend, "build s": round(build, 2),
                         "ms per query": round(1000 * query / len(queries), 3),
                         "recall@10 vs exact": recall_vs_exact(ids, exact_ids) if exact_ids is not None else "—"})
            print(rows[-1], flush=True)
    print(f"\n{args.dim}-d vectors, 1,000 queries, {cfg.threads} threads\n")
    print(mmcourse.viz.table(rows, display=False))


if __name__ == "__main__":
    main()
