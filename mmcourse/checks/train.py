"""Checks for the training exercises (parameter counting, one optimisation step)."""

from __future__ import annotations

import copy

import torch
import torch.nn.functional as F
from torch import nn

from .. import train as ref
from ..models import CNNConfig, SmallCNN
from . import register
from ._util import as_float, generator, require_callable


@register("train.count_parameters")
def check_count_parameters(fn) -> None:
    """``fn(model, trainable_only=False) -> int``."""
    require_callable(fn, "count_parameters")
    torch.manual_seed(0)
    models = [nn.Linear(3, 4), nn.Sequential(nn.Linear(8, 16), nn.ReLU(), nn.Linear(16, 2)),
              SmallCNN(CNNConfig())]
    for m in models:
        got, want = fn(m), ref.count_parameters(m)
        assert int(got) == want, f"{type(m).__name__}: you counted {got}, expected {want}"
    frozen = nn.Sequential(nn.Linear(10, 10), nn.Linear(10, 3))
    frozen[0].requires_grad_(False)
    got = fn(frozen, trainable_only=True)
    assert int(got) == 33, (
        f"with the first layer frozen, trainable_only=True should count 33 parameters; got {got}; "
        "hint: skip parameters whose requires_grad is False"
    )
    assert int(fn(frozen, trainable_only=False)) == 143, "trainable_only=False counts every parameter"


@register("train.train_step")
def check_train_step(fn) -> None:
    """``fn(model, batch=(x, y), optimizer) -> float`` does one step and returns the loss."""
    require_callable(fn, "train_step")
    g = generator(3)
    x = torch.randn(32, 6, generator=g)
    y = torch.randint(0, 3, (32,), generator=g)
    torch.manual_seed(0)
    model = nn.Linear(6, 3)
    reference = copy.deepcopy(model)
    opt = torch.optim.SGD(model.parameters(), lr=0.5)
    ref_opt = torch.optim.SGD(reference.parameters(), lr=0.5)

    expected_loss = F.cross_entropy(reference(x), y)
    got = as_float(fn(model, (x, y), opt), "train_step(...)")
    assert abs(got - expected_loss.item()) < 1e-5, (
        f"returned loss {got:.5f}, expected the cross-entropy before the update, {expected_loss.item():.5f}"
    )
    ref_opt.zero_grad()
    expected_loss.backward()
    ref_opt.step()
    for (name, p), q in zip(model.named_parameters(), reference.parameters()):
        assert torch.allclose(p, q, atol=1e-6), (
            f"after one step, {name} differs from one SGD step; hint: zero_grad(), "
            "loss.backward(), optimizer.step() -- in that order"
        )
    # a second call must not accumulate the first call's gradients
    fn(model, (x, y), opt)
    ref_opt.zero_grad()
    F.cross_entropy(reference(x), y).backward()
    ref_opt.step()
    for (name, p), q in zip(model.named_parameters(), reference.parameters()):
        assert torch.allclose(p, q, atol=1e-5), (
            f"the second step differs ({name}); did you forget optimizer.zero_grad()?"
        )
    losses = [as_float(fn(model, (x, y), opt), "train_step") for _ in range(20)]
    assert losses[-1] < losses[0], "20 steps on one batch should lower the loss"
