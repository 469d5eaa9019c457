import json

import pytest
import torch

import mmcourse
from mmcourse import runtime


def test_setup_tiny_returns_frozen_config(cfg):
    assert cfg.profile == "tiny" and cfg.device == "cpu" and cfg.dtype == torch.float32
    assert cfg.threads >= 1 and torch.get_num_threads() == cfg.threads
    with pytest.raises(AttributeError):
        cfg.profile = "full"


def test_setup_prints_one_line_with_versions(capsys, monkeypatch):
    monkeypatch.delenv("MMCOURSE_PROFILE", raising=False)
    mmcourse.setup("tiny", seed=3)
    out = capsys.readouterr().out.strip()
    assert "\n" not in out
    for part in ("profile=tiny", "device=cpu", "dtype=float32", "seed=3", "torch ", "transformers "):
        assert part in out


def test_bad_profile_names_the_argument(monkeypatch):
    monkeypatch.delenv("MMCOURSE_PROFILE", raising=False)
    with pytest.raises(ValueError, match="profile must be one of \\['auto', 'tiny', 'full'\\]; got str 'gpu-please'"):
        mmcourse.setup("gpu-please")
    with pytest.raises(TypeError, match="profile must be one of .*got int 3"):
        mmcourse.setup(3)


def test_env_var_overrides_profile(monkeypatch):
    monkeypatch.setenv("MMCOURSE_PROFILE", "tiny")
    assert runtime.resolve_profile("full") == "tiny"
    monkeypatch.setenv("MMCOURSE_PROFILE", "huge")
    with pytest.raises(ValueError, match="MMCOURSE_PROFILE='huge'"):
        runtime.resolve_profile("auto")


def test_auto_profile_rules(monkeypatch):
    monkeypatch.delenv("MMCOURSE_PROFILE", raising=False)
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    monkeypatch.delenv("HF_HUB_OFFLINE", raising=False)
    assert runtime.resolve_profile("auto") == "tiny"  # no CUDA
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    assert runtime.resolve_profile("auto") == "full"  # CUDA and online
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    assert runtime.resolve_profile("auto") == "tiny"  # CUDA but offline


@pytest.mark.parametrize("capability, dtype", [((7, 5), torch.float16), ((8, 0), torch.bfloat16),
                                               ((9, 0), torch.bfloat16)])
def test_dtype_on_cuda_is_native_bf16_else_fp16(monkeypatch, capability, dtype):
    monkeypatch.setattr(torch.cuda, "get_device_capability", lambda *a: capability)
    assert runtime.pick_dtype("cuda") == dtype
    assert runtime.pick_dtype("cpu") == torch.float32


def test_seeding_is_reproducible(monkeypatch):
    monkeypatch.delenv("MMCOURSE_PROFILE", raising=False)
    mmcourse.setup("tiny", seed=7, verbose=False)
    a = torch.rand(5)
    mmcourse.setup("tiny", seed=7, verbose=False)
    assert torch.equal(a, torch.rand(5))
    with pytest.raises(ValueError, match="seed"):
        mmcourse.setup("tiny", seed=-1)


def test_bad_device_and_threads(monkeypatch):
    monkeypatch.delenv("MMCOURSE_PROFILE", raising=False)
    with pytest.raises(ValueError, match="device must be one of \\['cpu', 'cuda', 'mps'\\]; got str 'tpu'"):
        mmcourse.setup("tiny", device="tpu")
    with pytest.raises(ValueError, match="threads"):
        mmcourse.setup("tiny", threads=0)


def test_log_metric_writes_when_the_runner_asks(tmp_path, monkeypatch):
    monkeypatch.delenv(runtime.METRICS_ENV, raising=False)
    assert mmcourse.log_metric("acc", 0.5) == 0.5  # no file: just returns
    path = tmp_path / "m.jsonl"
    monkeypatch.setenv(runtime.METRICS_ENV, str(path))
    mmcourse.log_metric("acc", torch.tensor(0.75))
    assert json.loads(path.read_text()) == {"name": "acc", "value": 0.75}
    with pytest.raises(ValueError, match="name"):
        mmcourse.log_metric("", 1.0)


def test_threads_are_the_same_on_every_machine(monkeypatch):
    monkeypatch.delenv("MMCOURSE_THREADS", raising=False)
    assert mmcourse.setup("tiny", verbose=False).threads == runtime.DEFAULT_THREADS == 2
    monkeypatch.setenv("MMCOURSE_THREADS", "3")
    assert mmcourse.setup("tiny", verbose=False).threads == 3
    monkeypatch.setenv("MMCOURSE_THREADS", "all")
    with pytest.raises(ValueError, match="MMCOURSE_THREADS='all' must be a positive whole number"):
        mmcourse.setup("tiny", verbose=False)
