"""Model definitions, one module per architecture; each takes a config dataclass."""

from .cnn import CNNConfig, SmallCNN
from .vit import ViT, ViTConfig

__all__ = ["CNNConfig", "SmallCNN", "ViT", "ViTConfig"]
