"""The specs of arrays: image batches, waveforms, vectors and tensors of a given rank and dtype."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import torch

from .specs import Spec, _is_pil


@dataclass(frozen=True)
class Images(Spec):
    """A float image batch (B, C, H, W) with values in [0, 1] (``range01``), finite.

    ``channels``/``size`` pin C and H = W when given. Common mistakes get a hint: uint8
    pixels, a NumPy array or a PIL image, one image without the batch dimension.
    """

    channels: int | tuple[int, ...] = (1, 3)
    size: int | None = None
    range01: bool = True
    finite: bool = True  # False inside forward passes: the check would sync a GPU every step

    @property
    def expected(self) -> str:  # type: ignore[override]
        c = self.channels if isinstance(self.channels, int) else " or ".join(map(str, self.channels))
        hw = f"{self.size}, {self.size}" if self.size else "height, width"
        return f"a float tensor of shape (batch, {c}, {hw})" + (" with values in [0, 1]" if self.range01 else "")

    def check(self, value: Any, name: str) -> torch.Tensor:
        if _is_pil(value):
            self.fail(name, value, "convert it: torch.from_numpy(np.asarray(img.convert('RGB')) / 255.0)"
                                   ".float().permute(2, 0, 1)[None]", TypeError)
        if isinstance(value, np.ndarray):
            self.fail(name, value, "convert it: torch.from_numpy(array).float().permute(2, 0, 1)[None] for "
                                   "one (H, W, 3) image; divide by 255 if it holds 0-255 values", TypeError)
        if not isinstance(value, torch.Tensor):
            self.fail(name, value, error=TypeError)
        if value.dtype == torch.uint8:
            self.fail(name, value, f"uint8 pixels run 0-255: divide by 255 first, {name}.float() / 255",
                      TypeError)
        if not value.is_floating_point():
            self.fail(name, value, f"convert it with {name}.float()", TypeError)
        channels = (self.channels,) if isinstance(self.channels, int) else self.channels
        if value.dim() == 3 and value.shape[0] in channels:
            self.fail(name, value, f"one image: add the batch dimension, {name}[None]")
        if value.dim() == 4 and value.shape[1] not in channels and value.shape[-1] in channels:
            self.fail(name, value, f"channels come last: use {name}.permute(0, 3, 1, 2)")
        if value.dim() != 4 or value.shape[1] not in channels:
            self.fail(name, value)
        if value.shape[0] == 0:
            self.fail(name, value, "the batch is empty")
        if self.size is not None and tuple(value.shape[-2:]) != (self.size, self.size):
            self.fail(name, value, f"resize to {self.size}x{self.size}")
        if self.finite and not bool(torch.isfinite(value).all()):
            self.fail(name, value, "it holds NaN or inf")
        if self.range01 and (float(value.min()) < -1e-3 or float(value.max()) > 1 + 1e-3):
            hint = f"divide by 255: {name} / 255" if float(value.max()) > 2 else "clamp or rescale to [0, 1]"
            self.fail(name, value, f"values span [{float(value.min()):.3g}, {float(value.max()):.3g}]; {hint}")
        return value

    def example(self) -> torch.Tensor:
        c = self.channels if isinstance(self.channels, int) else self.channels[-1]
        s = self.size or 32
        return torch.rand(2, c, s, s, generator=torch.Generator().manual_seed(0))

    def bad(self) -> list[tuple[str, Any]]:
        good = self.example()
        out = [("uint8", (good * 255).to(torch.uint8)), ("numpy", good[0].permute(1, 2, 0).numpy()),
               ("one image", good[0]), ("channels last", good.permute(0, 2, 3, 1)), ("int64", good.long()),
               ("rank 2", good[0, 0]), ("list", [good[0]]), ("empty batch", good[:0])]
        if self.finite:
            out.append(("nan", good.clone().fill_(float("nan"))))
        if self.range01:
            out.append(("0-255 floats", good * 255))
        return out


@dataclass(frozen=True)
class Waveform(Spec):
    """A mono float waveform: a 1-D float tensor or array of finite samples in about [-1, 1]."""

    expected = "a 1-D float waveform (torch tensor or NumPy array) with samples in [-1, 1]"

    def check(self, value: Any, name: str) -> torch.Tensor:
        if isinstance(value, np.ndarray):
            if value.dtype == np.int16:
                self.fail(name, value, f"int16 PCM: divide by 32768 first, {name}.astype(np.float32) / 32768",
                          TypeError)
            value = torch.from_numpy(np.ascontiguousarray(value))
        if not isinstance(value, torch.Tensor):
            self.fail(name, value, error=TypeError)
        if value.dtype == torch.int16:
            self.fail(name, value, f"int16 PCM: divide by 32768 first, {name}.float() / 32768", TypeError)
        if not value.is_floating_point():
            self.fail(name, value, f"convert it with {name}.float()", TypeError)
        if value.dim() == 2 and min(value.shape) <= 8:
            self.fail(name, value, f"looks like {min(value.shape)} channels: average them to mono, "
                                   f"{name}.mean({int(value.shape[1] < value.shape[0])})")
        if value.dim() != 1:
            self.fail(name, value)
        if value.numel() == 0:
            self.fail(name, value, "it is empty")
        if not bool(torch.isfinite(value).all()):
            self.fail(name, value, "it holds NaN or inf")
        return value.float()

    def example(self) -> torch.Tensor:
        return torch.sin(torch.arange(4000) * 0.1) * 0.5

    def bad(self) -> list[tuple[str, Any]]:
        good = self.example()
        return [("int16 tensor", (good * 32767).to(torch.int16)),
                ("int16 array", (good * 32767).to(torch.int16).numpy()), ("stereo", torch.stack([good, good])),
                ("empty", good[:0]), ("nan", good.clone().fill_(float("nan"))), ("list", good.tolist()[:10]),
                ("int64", good.long())]


@dataclass(frozen=True)
class Vectors(Spec):
    """A finite float matrix (N, dim) as a torch tensor or NumPy array."""

    dim_from: str | None = None  # documentation only: which attribute gives the width

    expected = "a finite (n, dim) float matrix (torch tensor or NumPy array)"

    def check(self, value: Any, name: str) -> Any:
        if isinstance(value, np.ndarray):
            arr = value
        elif isinstance(value, torch.Tensor):
            if not value.is_floating_point():
                self.fail(name, value, f"convert it with {name}.float()", TypeError)
            arr = value.detach().float().cpu().numpy()
        else:
            self.fail(name, value, error=TypeError)
        if arr.ndim != 2 or arr.shape[0] == 0:
            hint = f"one vector: add the batch dimension, {name}[None]" if arr.ndim == 1 else ""
            self.fail(name, value, hint)
        if not np.issubdtype(arr.dtype, np.floating):
            self.fail(name, value, f"convert it with {name}.float()", TypeError)
        if not np.isfinite(arr).all():
            self.fail(name, value, "it holds NaN or inf: every later search would be wrong")
        return value

    def example(self) -> torch.Tensor:
        return torch.randn(8, 4, generator=torch.Generator().manual_seed(0))

    def bad(self) -> list[tuple[str, Any]]:
        good = self.example()
        return [("nan", good.clone().fill_(float("nan"))), ("inf", good.clone().fill_(float("inf"))),
                ("1-D", good[0]), ("empty", good[:0]), ("int", good.long()), ("list", good.tolist())]


@dataclass(frozen=True)
class Tensor(Spec):
    """A torch tensor of a given rank and kind ("float", "int", "bool" or "any"), finite if float."""

    rank: int | tuple[int, ...] | None = None
    kind: str = "any"
    what: str = ""  # e.g. "(batch, classes) logits"
    finite: bool = True  # False inside forward passes: scanning the values would sync a GPU every step

    @property
    def expected(self) -> str:  # type: ignore[override]
        ranks = (self.rank,) if isinstance(self.rank, int) else self.rank
        r = "" if ranks is None else " or ".join(f"{k}-D" for k in ranks) + " "
        k = "" if self.kind == "any" else f"{self.kind} "
        return f"a {r}{k}tensor" + (f" {self.what}" if self.what else "")

    def check(self, value: Any, name: str) -> torch.Tensor:
        if isinstance(value, np.ndarray):
            self.fail(name, value, f"convert it with torch.from_numpy({name})", TypeError)
        if not isinstance(value, torch.Tensor):
            self.fail(name, value, error=TypeError)
        ranks = (self.rank,) if isinstance(self.rank, int) else self.rank
        if ranks is not None and value.dim() not in ranks:
            self.fail(name, value)
        if self.kind == "float" and not value.is_floating_point():
            self.fail(name, value, f"convert it with {name}.float()", TypeError)
        if self.kind == "int" and (value.is_floating_point() or value.is_complex() or value.dtype == torch.bool):
            self.fail(name, value, f"class ids are integers: {name}.long()", TypeError)
        if self.kind == "bool" and value.dtype != torch.bool:
            self.fail(name, value, f"convert it with {name}.bool()", TypeError)
        if self.finite and value.is_floating_point() and not bool(torch.isfinite(value).all()):
            self.fail(name, value, "it holds NaN or inf")
        return value

    def example(self) -> torch.Tensor:
        ranks = (self.rank,) if isinstance(self.rank, int) else (self.rank or (1,))
        shape = (4,) * ranks[0]
        if self.kind == "int":
            return torch.zeros(shape, dtype=torch.long)
        if self.kind == "bool":
            return torch.ones(shape, dtype=torch.bool)
        return torch.rand(shape, generator=torch.Generator().manual_seed(0))

    def bad(self) -> list[tuple[str, Any]]:
        good = self.example()
        out: list[tuple[str, Any]] = [("numpy", good.numpy()), ("list", good.tolist())]
        if self.rank is not None:
            ranks = (self.rank,) if isinstance(self.rank, int) else self.rank
            out.append(("wrong rank", good.reshape(*good.shape, *([1] * (max(ranks) + 1 - good.dim())))))
        if self.kind == "float":
            out += [("int", good.long())] + ([("nan", good.clone().fill_(float("nan")))] if self.finite else [])
        if self.kind == "int":
            out.append(("float", good.float() + 0.5))
        return out


def check_images(images: Any, name: str = "images", *, channels: int | tuple[int, ...] = (1, 3),
                 size: int | None = None) -> tuple[int, int, int, int]:
    """Validate the shape and dtype of an image batch inside a model (see :class:`Images`;
    values are not scanned, so no GPU sync) and return its shape (B, C, H, W).
    """
    value = Images(channels=channels, size=size, range01=False, finite=False).check(images, name)
    B, C, H, W = value.shape
    return B, C, H, W
