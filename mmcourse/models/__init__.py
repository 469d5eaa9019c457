"""Model definitions, one module per architecture; each takes a config dataclass."""

from .cnn import CNNConfig, SmallCNN

__all__ = ["CNNConfig", "SmallCNN"]
