"""Model definitions, one module per architecture; each takes a config dataclass."""

from .clip import CLIP, CLIPConfig
from .cnn import CNNConfig, SmallCNN
from .vit import ViT, ViTConfig

__all__ = ["CLIP", "CLIPConfig", "CNNConfig", "SmallCNN", "ViT", "ViTConfig"]
