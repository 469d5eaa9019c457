import pytest
import torch

from mmcourse import compat


def test_version_tuple():
    assert compat.version_tuple("torch")[0] >= 2
    assert compat.version_tuple("no-such-package-xyz") == (0,)


def test_dtype_kwargs_follow_the_installed_versions(monkeypatch):
    monkeypatch.setattr(compat, "version_tuple", lambda p: {"transformers": (5, 24), "diffusers": (0, 42)}[p])
    assert compat.dtype_kwargs("transformers", torch.float16) == {"dtype": torch.float16}
    assert compat.dtype_kwargs("diffusers", torch.float16) == {"dtype": torch.float16}
    monkeypatch.setattr(compat, "version_tuple", lambda p: {"transformers": (4, 57), "diffusers": (0, 35)}[p])
    assert compat.dtype_kwargs("transformers", torch.float16) == {"torch_dtype": torch.float16}
    assert compat.dtype_kwargs("diffusers", torch.float16) == {"torch_dtype": torch.float16}
    with pytest.raises(ValueError, match="library='timm'"):
        compat.dtype_kwargs("timm", torch.float16)


def test_autocast_only_on_gpu_half_precision():
    assert compat.autocast_dtype("cpu", torch.float32) is None
    assert compat.autocast_dtype("cuda", torch.float16) == torch.float16
    assert compat.autocast_dtype("cuda", torch.float32) is None
