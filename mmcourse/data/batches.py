"""Fast in-memory mini-batches (no DataLoader workers: tiny data lives in RAM)."""

from __future__ import annotations

from collections.abc import Iterator

import torch

from ..contracts import Int, contract


class Batches:
    """Re-iterable mini-batches over tensors that share their first dimension.

    Each pass reshuffles with its own seeded generator, so a run is reproducible.

    >>> for x, y in Batches(images, labels, batch_size=128): ...

    Used in: chapters 00, 01, 02, 04, 07
    """

    @contract(batch_size=Int(min=1), seed=Int(min=0))
    def __init__(
        self,
        *tensors: torch.Tensor,
        batch_size: int = 128,
        shuffle: bool = True,
        drop_last: bool = True,
        seed: int = 0,
    ) -> None:
        if not tensors:
            raise ValueError("tensors: give at least one tensor")
        if not all(isinstance(t, torch.Tensor) for t in tensors):
            raise TypeError("tensors must all be torch.Tensor")
        n = tensors[0].shape[0]
        if any(t.shape[0] != n for t in tensors):
            raise ValueError(f"tensors must share their first dimension; got {[t.shape[0] for t in tensors]}")
        if isinstance(batch_size, bool) or not isinstance(batch_size, int) or batch_size <= 0:
            raise ValueError(f"batch_size must be a positive int; got {batch_size!r}")
        if drop_last and batch_size > n:
            raise ValueError(f"batch_size={batch_size} is larger than the {n} examples (drop_last=True)")
        self.tensors, self.n, self.batch_size = tensors, n, batch_size
        self.shuffle, self.drop_last = shuffle, drop_last
        self._gen = torch.Generator().manual_seed(seed)

    def __len__(self) -> int:
        return self.n // self.batch_size if self.drop_last else -(-self.n // self.batch_size)

    def __iter__(self) -> Iterator[tuple[torch.Tensor, ...]]:
        order = torch.randperm(self.n, generator=self._gen) if self.shuffle else torch.arange(self.n)
        for b in range(len(self)):
            idx = order[b * self.batch_size : (b + 1) * self.batch_size]
            yield tuple(t[idx] for t in self.tensors)
