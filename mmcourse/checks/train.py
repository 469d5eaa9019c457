"""Checks for chapter 00's training exercises: counting parameters, one optimisation step."""

from __future__ import annotations

import copy

import torch
import torch.nn.functional as F
from torch import nn

from ..models import CNNConfig, SmallCNN, count_parameters
from ._util import call, expect_float, expect_int, generator, require_callable
from .registry import register


@register("train.count_parameters")
def check_count_parameters(fn) -> None:
    """``fn(model, trainable_only=False) -> int``."""
    require_callable(fn, "count_parameters")
    torch.manual_seed(0)
    models = [nn.Linear(3, 4), nn.Sequential(nn.Linear(8, 16), nn.ReLU(), nn.Linear(16, 2)),
              SmallCNN(CNNConfig())]
    for m in models:
        got = expect_int(call(fn, m, what="count_parameters(model)"), "count_parameters(model)")
        want = count_parameters(m)
        if got == len(list(m.parameters())):
            raise AssertionError(f"{type(m).__name__}: you counted {got} parameter tensors; count the numbers "
                                 "in them: sum of p.numel()")
        assert got == want, f"{type(m).__name__}: you counted {got}, expected {want}"
    frozen = nn.Sequential(nn.Linear(10, 10), nn.Linear(10, 3))
    frozen[0].requires_grad_(False)
    got = expect_int(fn(frozen, trainable_only=True), "count_parameters(model, trainable_only=True)")
    if got == 143:
        raise AssertionError("trainable_only=True counted the frozen layer too: skip parameters whose "
                             "requires_grad is False")
    assert got == 33, f"with the first layer frozen, trainable_only=True should count 33 parameters; got {got}"
    assert expect_int(fn(frozen, trainable_only=False), "count_parameters") == 143, \
        "trainable_only=False counts every parameter, frozen or not"


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
    before = [p.detach().clone() for p in model.parameters()]

    expected_loss = F.cross_entropy(reference(x), y)
    got = expect_float(call(fn, model, (x, y), opt, what="train_step(model, batch, optimizer)"),
                       "train_step(model, batch, optimizer)")
    if all(torch.equal(p, q) for p, q in zip(model.parameters(), before)):
        raise AssertionError("the weights did not change: call loss.backward() and then optimizer.step()")
    if abs(got - F.cross_entropy(model(x), y).item()) < 1e-6 and abs(got - expected_loss.item()) > 1e-5:
        raise AssertionError("you returned the loss after the update; return the loss you back-propagated "
                             "(computed before optimizer.step())")
    assert abs(got - expected_loss.item()) < 1e-5, (
        f"returned loss {got:.5f}, expected the cross-entropy before the update, {expected_loss.item():.5f}")
    ref_opt.zero_grad()
    expected_loss.backward()
    ref_opt.step()
    for (name, p), q in zip(model.named_parameters(), reference.parameters()):
        assert torch.allclose(p, q, atol=1e-6), (
            f"after one step, {name} differs from one SGD step; hint: zero_grad(), loss.backward(), "
            "optimizer.step() -- in that order")
    # a second call must not accumulate the first call's gradients
    fn(model, (x, y), opt)
    ref_opt.zero_grad()
    F.cross_entropy(reference(x), y).backward()
    ref_opt.step()
    for (name, p), q in zip(model.named_parameters(), reference.parameters()):
        assert torch.allclose(p, q, atol=1e-5), (
            f"the second step differs ({name}); did you forget optimizer.zero_grad()? Gradients add up "
            "across backward() calls until they are cleared")
    losses = [expect_float(fn(model, (x, y), opt), "train_step") for _ in range(20)]
    assert losses[-1] < losses[0], "20 steps on one batch should lower the loss"
