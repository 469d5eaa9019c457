"""The embedding index against brute force; FAISS backends against the exact one."""

import numpy as np
import pytest
import torch

from mmcourse.retrieval import BACKENDS, EmbeddingIndex, recall_vs_exact


def _clustered(n, dim=32, centers=50, seed=0):
    g = torch.Generator().manual_seed(seed)
    c = torch.randn(centers, dim, generator=g)
    return c[torch.randint(0, centers, (n,), generator=g)] + 0.3 * torch.randn(n, dim, generator=g)


def test_exact_search_matches_brute_force():
    gallery, queries = _clustered(500), _clustered(20, seed=1)
    scores, ids = EmbeddingIndex(32).add(gallery).search(queries, 5)
    g = torch.nn.functional.normalize(gallery, dim=1)
    q = torch.nn.functional.normalize(queries, dim=1)
    brute = q @ g.T
    for i in range(20):
        order = sorted(range(500), key=lambda j: -brute[i, j].item())[:5]
        assert ids[i].tolist() == order
        assert torch.allclose(scores[i], brute[i, order], atol=1e-5)


def test_faiss_flat_equals_exact_and_adds_in_batches():
    gallery, queries = _clustered(1000), _clustered(30, seed=2)
    exact = EmbeddingIndex(32).add(gallery[:600]).add(gallery[600:])
    flat = EmbeddingIndex(32, "faiss-flat").add(gallery[:600]).add(gallery[600:])
    (s1, i1), (s2, i2) = exact.search(queries, 10), flat.search(queries, 10)
    assert len(flat) == 1000 and torch.equal(i1, i2) and torch.allclose(s1, s2, atol=1e-5)


@pytest.mark.parametrize("backend", ["faiss-ivf", "faiss-hnsw"])
def test_approximate_backends_have_high_recall(backend):
    gallery, queries = _clustered(5000), _clustered(100, seed=3)
    _, exact = EmbeddingIndex(32).add(gallery).search(queries, 10)
    _, approx = EmbeddingIndex(32, backend, nlist=64, nprobe=8).add(gallery).search(queries, 10)
    assert recall_vs_exact(approx, exact) >= 0.9


@pytest.mark.parametrize("call, match", [
    (lambda: EmbeddingIndex(8).add(torch.rand(5, 8)).search(torch.rand(1, 8), 6), "k=6 is larger than the gallery"),
    (lambda: EmbeddingIndex(8).search(torch.rand(1, 8), 1), "index is empty"),
    (lambda: EmbeddingIndex(8).add(torch.rand(5, 7)), r"vectors must have shape \(n, 8\)"),
    (lambda: EmbeddingIndex(8).add(torch.rand(5, 8)).search(torch.rand(8), 1), r"queries must be a finite \(n, dim\) float matrix.*add the batch dimension"),
    (lambda: EmbeddingIndex(8, "annoy"), "backend must be one of .*got str 'annoy'"),
    (lambda: EmbeddingIndex(8).add(torch.rand(5, 8)).search(torch.rand(1, 8), 0), "k must be a positive int"),
    (lambda: EmbeddingIndex(8, "faiss-ivf", nlist=16).add(torch.rand(5, 8)), "nlist=16 needs at least"),
])
def test_bad_index_input(call, match):
    with pytest.raises(ValueError, match=match):
        call()


def test_backends_accept_numpy_and_recall_helper():
    assert set(BACKENDS) == {"exact", "faiss-flat", "faiss-ivf", "faiss-hnsw"}
    x = np.random.default_rng(0).standard_normal((50, 4)).astype(np.float32)
    _, ids = EmbeddingIndex(4, "faiss-hnsw").add(x).search(x[:3], 1)
    assert ids[:, 0].tolist() == [0, 1, 2]  # each vector is its own nearest neighbour
    assert recall_vs_exact(torch.tensor([[1, 2]]), torch.tensor([[2, 3]])) == 0.5
