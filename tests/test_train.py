import time

import pytest
import torch
from torch import nn

from mmcourse.data import Batches
from mmcourse.models import count_parameters
from mmcourse.train import History, TimeLimitExceeded, fit, lr_at, to_device, train_step


def _blobs(n=512, seed=0):
    g = torch.Generator().manual_seed(seed)
    y = torch.randint(0, 3, (n,), generator=g)
    centers = torch.tensor([[2.0, 0.0], [-2.0, 0.0], [0.0, 2.5]])
    x = centers[y] + 0.5 * torch.randn(n, 2, generator=g)
    return x, y


def test_fit_learns_and_records_history(cfg):
    torch.manual_seed(0)
    x, y = _blobs()
    model = nn.Sequential(nn.Linear(2, 16), nn.ReLU(), nn.Linear(16, 3))
    calls = []

    def evaluate(m):
        calls.append(1)
        return {"acc": (m(x).argmax(1) == y).float().mean()}

    h = fit(model, Batches(x, y, batch_size=64), steps=150, lr=1e-2, cfg=cfg, eval_fn=evaluate,
            eval_every=50, progress=False)
    assert isinstance(h, History) and h.steps == 150 and h.stopped_by == "steps"
    assert len(h.loss) == len(h.time) == len(h.lr) == 150
    assert [e["step"] for e in h.evals] == [50, 100, 150] and len(calls) == 3
    assert h.final_eval["acc"] > 0.95
    assert h.final_loss < h.loss[0] / 3
    assert not model.training  # fit leaves the model in eval mode


def test_time_limit_is_a_guard_that_voids_the_result(cfg):
    x, y = _blobs()
    model = nn.Linear(2, 3)
    slow = lambda m, b: (time.sleep(0.02), nn.functional.cross_entropy(m(b[0]), b[1]))[1]  # noqa: E731
    start = time.perf_counter()
    with pytest.raises(TimeLimitExceeded, match=r"stopped by its 0.1 s guard after \d+ of 1000 steps"):
        fit(model, Batches(x, y, batch_size=32), loss_fn=slow, steps=1000, time_limit=0.1, cfg=cfg, progress=False)
    assert time.perf_counter() - start < 2


def test_same_seed_same_steps_same_numbers(cfg):
    runs = []
    for _ in range(2):
        torch.manual_seed(0)
        x, y = _blobs()
        model = nn.Sequential(nn.Linear(2, 16), nn.ReLU(), nn.Linear(16, 3))
        runs.append(fit(model, Batches(x, y, batch_size=64, seed=1), steps=40, cfg=cfg, progress=False).loss)
    assert runs[0] == runs[1]


def test_lr_at_warmup_then_constant_or_cosine():
    assert lr_at(1, base_lr=1.0, steps=10, warmup=4) == pytest.approx(0.25)
    assert lr_at(4, base_lr=1.0, steps=10, warmup=4) == pytest.approx(1.0)
    assert lr_at(10, base_lr=1.0, steps=10) == 1.0
    assert lr_at(5, base_lr=2.0, steps=10, schedule="cosine") == pytest.approx(1.0)
    assert lr_at(10, base_lr=2.0, steps=10, schedule="cosine") == pytest.approx(0.0, abs=1e-12)
    with pytest.raises(ValueError, match="schedule must be one of \\['constant', 'cosine'\\]; got str 'linear'"):
        lr_at(1, base_lr=1.0, steps=10, schedule="linear")


def test_train_step_is_one_sgd_step_and_returns_the_loss_before_it():
    torch.manual_seed(0)
    x, y = _blobs(32)
    model, twin = nn.Linear(2, 3), nn.Linear(2, 3)
    twin.load_state_dict(model.state_dict())
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    loss = train_step(model, (x, y), opt)
    expected = nn.functional.cross_entropy(twin(x), y)
    expected.backward()
    assert loss == pytest.approx(expected.item())
    with torch.no_grad():
        for p, q in zip(model.parameters(), twin.parameters()):
            assert torch.allclose(p, q - 0.1 * q.grad)


def test_warmup_and_callable_data(cfg):
    x, y = _blobs()
    model = nn.Linear(2, 3)
    h = fit(model, lambda: (x[:32], y[:32]), steps=10, lr=1e-2, warmup=5, cfg=cfg, progress=False)
    assert h.lr[0] == pytest.approx(2e-3) and h.lr[4] == pytest.approx(1e-2) and h.lr[9] == pytest.approx(1e-2)


def test_iterator_data_is_consumed_once(cfg):
    x, y = _blobs(64)
    batches = iter([(x[:32], y[:32]), (x[32:], y[32:])])
    h = fit(nn.Linear(2, 3), batches, steps=10, cfg=cfg, progress=False)
    assert h.steps == 2 and h.stopped_by == "data"


def test_custom_loss_and_gradient_clipping(cfg):
    x, y = _blobs(64)
    model = nn.Linear(2, 3)
    seen = []

    def loss_fn(m, batch):
        xb, yb = batch
        loss = 1e4 * nn.functional.cross_entropy(m(xb), yb)
        return loss

    class Spy(torch.optim.SGD):
        def step(self, *a, **k):
            seen.append(torch.sqrt(sum((p.grad ** 2).sum() for p in model.parameters())).item())
            return super().step(*a, **k)

    fit(model, Batches(x, y, batch_size=32), loss_fn=loss_fn, steps=3, clip_grad=1.0,
        optimizer=Spy(model.parameters(), lr=1e-3), cfg=cfg, progress=False)
    assert max(seen) <= 1.0 + 1e-4


@pytest.mark.parametrize("kwargs, error, match", [
    ({"steps": 5, "time_limit": 0}, ValueError, "time_limit must be a finite number > 0"),
    ({"steps": 5, "time_limit": -1.0}, ValueError, "time_limit must be a finite number > 0"),
    ({"steps": 0}, ValueError, "steps must be a positive int"),
    ({"steps": 2.5}, TypeError, "steps must be a positive int.*a count is a whole number"),
    ({"steps": None}, TypeError, "steps must be a positive int"),
    ({"steps": 5, "eval_every": 0}, ValueError, "eval_every"),
    ({"steps": 5, "clip_grad": 0}, ValueError, "clip_grad"),
])
def test_bad_budgets_name_the_argument(kwargs, error, match):
    x, y = _blobs(32)
    with pytest.raises(error, match=match):
        fit(nn.Linear(2, 3), Batches(x, y, batch_size=8), progress=False, **kwargs)


def test_bad_model_data_and_loss():
    with pytest.raises(TypeError, match="model must be"):
        fit("not a model", [], steps=1)
    with pytest.raises(TypeError, match="data must be"):
        fit(nn.Linear(2, 3), 42, steps=1, progress=False)
    x, y = _blobs(32)
    with pytest.raises(TypeError, match="scalar"):
        fit(nn.Linear(2, 3), Batches(x, y, batch_size=8), loss_fn=lambda m, b: m(b[0]), steps=1,
            progress=False)
    with pytest.raises(FloatingPointError, match="lower lr"):
        fit(nn.Linear(2, 3), Batches(x, y, batch_size=8), loss_fn=lambda m, b: m(b[0]).sum() * float("nan"),
            steps=2, progress=False)


def test_count_parameters_counts_shared_weights_once():
    a = nn.Linear(4, 4)
    model = nn.Sequential(a, nn.ReLU(), a)
    assert count_parameters(model) == 20
    frozen = nn.Sequential(nn.Linear(2, 2), nn.Linear(2, 1))
    frozen[0].requires_grad_(False)
    assert count_parameters(frozen, trainable_only=True) == 3
    with pytest.raises(TypeError, match="model must be"):
        count_parameters([1, 2])


def test_to_device_handles_nested_batches():
    batch = {"x": torch.ones(2), "pair": (torch.zeros(1), [torch.ones(1)]), "name": "a"}
    moved = to_device(batch, "cpu")
    assert moved["name"] == "a" and torch.equal(moved["pair"][1][0], torch.ones(1))


def test_batches_are_reproducible_and_validated():
    x = torch.arange(10)
    a = [b[0].tolist() for b in Batches(x, batch_size=4, seed=1)]
    b = [b[0].tolist() for b in Batches(x, batch_size=4, seed=1)]
    assert a == b and len(a) == 2
    assert len(Batches(x, batch_size=4, drop_last=False)) == 3
    with pytest.raises(ValueError, match="first dimension"):
        Batches(x, torch.arange(3))
    with pytest.raises(ValueError, match="batch_size"):
        Batches(x, batch_size=0)
    with pytest.raises(ValueError, match="larger than"):
        Batches(x, batch_size=11)
