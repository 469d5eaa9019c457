"""Checks for chapter 00's training exercises: counting parameters, one optimisation step."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from ..models import CNNConfig, SmallCNN, count_parameters
from ._util import call, expect_float, expect_int, generator, require_callable
from .registry import register


class _Scaled(nn.Module):
    """A module that holds a parameter of its own besides its child layer (as LayerNorm or a CLIP's
    logit scale do): counting only the innermost layers misses it."""

    def __init__(self) -> None:
        super().__init__()
        self.scale = nn.Parameter(torch.ones(4))
        self.linear = nn.Linear(4, 4)


def _tied() -> nn.Module:
    """An embedding and an output layer sharing one weight (as GPT-2's do): it counts once."""
    model = nn.Sequential(nn.Embedding(10, 4), nn.Linear(4, 10, bias=False))
    model[1].weight = model[0].weight
    return model


@register("train.count_parameters")
def check_count_parameters(fn) -> None:
    """``fn(model, trainable_only=False) -> int``."""
    require_callable(fn, "count_parameters")
    torch.manual_seed(0)
    models = [nn.Linear(3, 4), nn.Sequential(nn.Linear(8, 16), nn.ReLU(), nn.Linear(16, 2)),
              SmallCNN(CNNConfig()), _Scaled(), _tied()]
    for m in models:
        got = expect_int(call(fn, m, what="count_parameters(model)"), "count_parameters(model)")
        want = count_parameters(m)
        if got == len(list(m.parameters())):
            raise AssertionError(f"{type(m).__name__}: you counted {got} parameter tensors; count the numbers "
                                 "in them: sum of p.numel()")
        if isinstance(m, _Scaled) and got == want - 4:
            raise AssertionError("a module can hold parameters of its own besides its layers (here a learned "
                                 "scale): count over model.parameters(), which lists them all")
        if got == 80 and want == 40:
            raise AssertionError("the embedding and the output layer share one weight: it is one parameter, "
                                 "counted once (model.parameters() lists a shared tensor once)")
        assert got == want, f"{type(m).__name__}: you counted {got}, expected {want}"
    frozen = nn.Sequential(nn.Linear(10, 10), nn.Linear(10, 3))
    frozen[0].requires_grad_(False)
    got = expect_int(call(fn, frozen, trainable_only=True, what="count_parameters(model, trainable_only=True)"),
                     "count_parameters(model, trainable_only=True)")
    if got == 143:
        raise AssertionError("trainable_only=True counted the frozen layer too: skip parameters whose "
                             "requires_grad is False")
    assert got == 33, f"with the first layer frozen, trainable_only=True should count 33 parameters; got {got}"
    assert expect_int(call(fn, frozen, trainable_only=False, what="count_parameters(model, trainable_only=False)"),
                      "count_parameters") == 143, "trainable_only=False counts every parameter, frozen or not"
    assert expect_int(call(fn, frozen, what="count_parameters(model)"), "count_parameters") == 143, (
        "called without trainable_only, count every parameter: the default is trainable_only=False")
    partly = nn.Linear(10, 3)
    partly.bias.requires_grad_(False)  # a frozen bias in a trainable layer: judge each parameter on its own
    got = expect_int(call(fn, partly, trainable_only=True, what="count_parameters(model, trainable_only=True)"),
                     "count_parameters(model, trainable_only=True)")
    assert got == 30, (f"a Linear(10, 3) whose bias alone is frozen has 30 trainable numbers; you counted {got}: "
                       "look at each parameter's requires_grad, not at the layer's first one")


def _model() -> nn.Module:
    torch.manual_seed(0)
    return nn.Sequential(nn.Linear(6, 16), nn.Dropout(0.2), nn.ReLU(), nn.Linear(16, 3))


def _reference_step(model: nn.Module, x: torch.Tensor, y: torch.Tensor, opt: torch.optim.Optimizer,
                    seed: int, clip: float | None = None) -> float:
    torch.manual_seed(seed)  # the same dropout mask as the learner's forward pass
    loss = F.cross_entropy(model(x), y)
    opt.zero_grad()
    loss.backward()
    if clip is not None:
        torch.nn.utils.clip_grad_norm_(model.parameters(), clip)
    opt.step()
    return loss.item()


@register("train.train_step")
def check_train_step(fn) -> None:
    """``fn(model, batch=(x, y), optimizer) -> float`` does one step and returns the loss.

    The model has dropout (so the step must leave it training) and the optimiser momentum (so
    only ``optimizer.step()`` makes the right update); the gradients are large enough that a
    clipped step would show.
    """
    require_callable(fn, "train_step")
    g = generator(3)
    x = 10 * torch.randn(32, 6, generator=g)  # a gradient norm of about 4.6: a clipped step would show
    y = torch.randint(0, 3, (32,), generator=g)
    model, reference, clipped = _model(), _model(), _model()
    opt, ref_opt = (torch.optim.SGD(m.parameters(), lr=0.02, momentum=0.9) for m in (model, reference))
    clip_opt = torch.optim.SGD(clipped.parameters(), lr=0.02, momentum=0.9)
    before = [p.detach().clone() for p in model.parameters()]
    for step in range(2):  # the second step needs the first step's gradients cleared and its momentum kept
        seed = 100 + step
        torch.manual_seed(seed)
        got = expect_float(call(fn, model, (x, y), opt, what="train_step(model, batch, optimizer)"),
                           "train_step(model, batch, optimizer)")
        assert model.training, ("the model is in eval mode after your step: leave it training (model.eval() "
                                "turns dropout off, so the step would train a different network)")
        if step == 0 and all(torch.equal(p, q) for p, q in zip(model.parameters(), before)):
            raise AssertionError("the weights did not change: call loss.backward() and then optimizer.step()")
        expected = _reference_step(reference, x, y, ref_opt, seed)
        _reference_step(clipped, x, y, clip_opt, seed, clip=1.0)
        if step == 0:
            with torch.no_grad():  # a second forward pass after the update, as such a step would run it
                torch.manual_seed(seed)
                model(x)
                after_the_update = F.cross_entropy(model(x), y).item()
            if abs(got - after_the_update) < 1e-6 and abs(got - expected) > 1e-5:
                raise AssertionError("you returned the loss after the update; return the loss you back-propagated "
                                     "(computed before optimizer.step())")
        assert abs(got - expected) < 1e-5, (
            f"returned loss {got:.5f}, expected the cross-entropy before the update, {expected:.5f}")
        if all(torch.allclose(p, q, atol=1e-6) for p, q in zip(model.parameters(), reference.parameters())):
            continue
        if all(torch.allclose(p, q, atol=1e-6) for p, q in zip(model.parameters(), clipped.parameters())):
            raise AssertionError("you clipped the gradient norm: this step has no clipping (fit() adds it)")
        if step == 1:
            raise AssertionError("the second step differs; did you forget optimizer.zero_grad()? Gradients add up "
                                 "across backward() calls until they are cleared. (Or you updated the weights by hand: "
                                 "optimizer.step() also applies the momentum)")
        raise AssertionError("after one step the weights differ from one optimizer step; hint: zero_grad(), "
                             "loss.backward(), optimizer.step() -- in that order")
    losses = [expect_float(call(fn, model, (x, y), opt, what="train_step"), "train_step") for _ in range(20)]
    assert sum(losses[-5:]) < sum(losses[:5]), "20 steps on one batch should lower the loss"
