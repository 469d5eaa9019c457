"""A small convolutional image classifier: the first model a learner trains.

Three conv blocks (conv 3x3 -> BatchNorm -> GELU -> 2x2 max-pool), a global average
pool and a linear head. Its ``features`` double as an image tower in later chapters.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import torch
from torch import nn

from ..contracts import check_images


@dataclass(frozen=True)
class CNNConfig:
    """Configuration of :class:`SmallCNN`.

    Used in: chapters 00, 07
    """

    in_channels: int = 3
    channels: tuple[int, ...] = (16, 32, 64)
    num_classes: int = 5
    dropout: float = 0.0

    def __post_init__(self) -> None:
        if self.in_channels <= 0:
            raise ValueError(f"in_channels must be positive; got {self.in_channels}")
        if not self.channels or any(c <= 0 for c in self.channels):
            raise ValueError(f"channels must be a non-empty tuple of positive ints; got {self.channels}")
        if self.num_classes < 2:
            raise ValueError(f"num_classes must be >= 2; got {self.num_classes}")

    def to_dict(self) -> dict:
        d = asdict(self)
        d["channels"] = list(self.channels)
        return d

    @classmethod
    def from_dict(cls, d: dict) -> CNNConfig:
        return cls(**{**d, "channels": tuple(d["channels"])})


class SmallCNN(nn.Module):
    """Image classifier: (B, C, H, W) in [0, 1] -> (B, num_classes) logits.

    Used in: chapters 00, 07
    """

    def __init__(self, config: CNNConfig) -> None:
        super().__init__()
        if not isinstance(config, CNNConfig):
            raise TypeError(f"config must be a CNNConfig; got {type(config).__name__}")
        self.config = config
        blocks, c_in = [], config.in_channels
        for c_out in config.channels:
            blocks += [
                nn.Conv2d(c_in, c_out, 3, padding=1, bias=False),
                nn.BatchNorm2d(c_out),
                nn.GELU(),
                nn.MaxPool2d(2),
            ]
            c_in = c_out
        self.body = nn.Sequential(*blocks)
        self.dropout = nn.Dropout(config.dropout)
        self.head = nn.Linear(c_in, config.num_classes)

    @property
    def feature_dim(self) -> int:
        return self.config.channels[-1]

    def features(self, x: torch.Tensor) -> torch.Tensor:
        """(B, C, H, W) -> (B, feature_dim) pooled features."""
        check_images(x, "x", channels=self.config.in_channels)
        h = self.body(x)  # (B, C_last, H / 2^L, W / 2^L)
        return h.mean(dim=(2, 3))  # global average pool -> (B, C_last)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.dropout(self.features(x)))
