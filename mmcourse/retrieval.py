"""Embedding search: find the gallery items most similar to a query.

Embeddings are L2-normalised, so the inner product is the cosine similarity. Backends:

* ``exact``      -- one matrix product and top-k in torch; the reference.
* ``faiss-flat`` -- FAISS ``IndexFlatIP``: also exact, in optimised C++.
* ``faiss-ivf``  -- FAISS ``IndexIVFFlat``: k-means cells, only ``nprobe`` cells searched
  (approximate; Jégou et al., 2011).
* ``faiss-hnsw`` -- FAISS ``IndexHNSWFlat``: a navigable small-world graph (approximate;
  Malkov & Yashunin, 2018).

Among equal scores the order of results is not specified (torch and FAISS may differ).
"""

from __future__ import annotations

import numpy as np
import torch

from .contracts import Choice, Int, Tensor, Vectors, contract

BACKENDS = ("exact", "faiss-flat", "faiss-ivf", "faiss-hnsw")


def _as_matrix(x: torch.Tensor | np.ndarray, dim: int, name: str) -> np.ndarray:
    if isinstance(x, torch.Tensor):
        x = x.detach().float().cpu().numpy()
    x = np.ascontiguousarray(np.asarray(x, dtype=np.float32))
    if x.ndim != 2 or x.shape[1] != dim:
        raise ValueError(f"{name} must have shape (n, {dim}); got {x.shape}")
    return x


class EmbeddingIndex:
    """Add vectors, then ``search(queries, k)`` -> (scores, ids), both (Q, k), best first.

    Used in: chapter 02
    """

    @contract(dim=Int(min=1), backend=Choice(BACKENDS), nlist=Int(min=1), nprobe=Int(min=1), hnsw_m=Int(min=2),
              ef_search=Int(min=1))
    def __init__(self, dim: int, backend: str = "exact", *, normalize: bool = True, nlist: int = 256,
                 nprobe: int = 16, hnsw_m: int = 32, ef_search: int = 128) -> None:
        if backend not in BACKENDS:
            raise ValueError(f"backend={backend!r}: expected one of {BACKENDS}")
        if isinstance(dim, bool) or not isinstance(dim, int) or dim <= 0:
            raise ValueError(f"dim must be a positive int; got {dim!r}")
        self.dim, self.backend, self.normalize = dim, backend, normalize
        self._vectors = np.zeros((0, dim), np.float32)  # the exact backend's storage
        self._faiss = None
        if backend != "exact":
            import faiss

            if backend == "faiss-flat":
                self._faiss = faiss.IndexFlatIP(dim)
            elif backend == "faiss-ivf":
                self._quantizer = faiss.IndexFlatIP(dim)
                self._faiss = faiss.IndexIVFFlat(self._quantizer, dim, nlist, faiss.METRIC_INNER_PRODUCT)
                self._faiss.nprobe = nprobe
            else:
                self._faiss = faiss.IndexHNSWFlat(dim, hnsw_m, faiss.METRIC_INNER_PRODUCT)
                self._faiss.hnsw.efSearch = ef_search

    def __len__(self) -> int:
        return self._faiss.ntotal if self._faiss is not None else len(self._vectors)

    def _prepare(self, x: torch.Tensor | np.ndarray, name: str) -> np.ndarray:
        x = _as_matrix(x, self.dim, name)
        if self.normalize:
            x = x / np.maximum(np.linalg.norm(x, axis=1, keepdims=True), 1e-12)
        return np.ascontiguousarray(x, dtype=np.float32)

    @contract(vectors=Vectors())
    def add(self, vectors: torch.Tensor | np.ndarray) -> EmbeddingIndex:
        """Append vectors (ids continue from the current size). An IVF index is trained
        (k-means) on the first batch it is given."""
        x = self._prepare(vectors, "vectors")
        if self._faiss is None:
            self._vectors = np.concatenate([self._vectors, x])
        else:
            if not self._faiss.is_trained:
                if len(x) < self._faiss.nlist:
                    raise ValueError(f"an IVF index with nlist={self._faiss.nlist} needs at least that many "
                                     f"vectors in its first add(); got {len(x)}")
                self._faiss.train(x)
            self._faiss.add(x)
        return self

    @contract(queries=Vectors(), k=Int(min=1))
    def search(self, queries: torch.Tensor | np.ndarray, k: int) -> tuple[torch.Tensor, torch.Tensor]:
        """The ``k`` most similar items per query: (scores (Q, k), ids (Q, k)), best first."""
        if isinstance(k, bool) or not isinstance(k, int) or k < 1:
            raise ValueError(f"k must be a positive int; got {k!r}")
        if len(self) == 0:
            raise ValueError("the index is empty: add() vectors first")
        if k > len(self):
            raise ValueError(f"k={k} is larger than the gallery ({len(self)} vectors)")
        q = self._prepare(queries, "queries")
        if self._faiss is not None:
            scores, ids = self._faiss.search(q, k)
            return torch.from_numpy(scores), torch.from_numpy(ids)
        gallery = torch.from_numpy(self._vectors)
        out_s, out_i = [], []
        for start in range(0, len(q), 1024):  # chunks keep the (Q, N) score matrix small
            s = torch.from_numpy(q[start:start + 1024]) @ gallery.T
            top = s.topk(k, dim=1)
            out_s.append(top.values)
            out_i.append(top.indices)
        return torch.cat(out_s), torch.cat(out_i)


@contract(approx_ids=Tensor(rank=2, kind="int"), exact_ids=Tensor(rank=2, kind="int"))
def recall_vs_exact(approx_ids: torch.Tensor, exact_ids: torch.Tensor) -> float:
    """Average fraction of the exact top-k that an approximate search also returned.

    Used in: chapter 02
    """
    if approx_ids.shape != exact_ids.shape:
        raise ValueError(f"shapes differ: {tuple(approx_ids.shape)} vs {tuple(exact_ids.shape)}")
    hits = [len(set(a.tolist()) & set(e.tolist())) for a, e in zip(approx_ids, exact_ids)]
    return float(np.mean(hits)) / exact_ids.shape[1]
