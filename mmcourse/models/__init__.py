"""Architectures only, one module per model; each takes a config dataclass.

* :mod:`.layers` -- the shared attention, MLP and transformer block; ``count_parameters``;
* :mod:`.cnn` (chapter 00), :mod:`.vit` and :mod:`.fusion` (01), :mod:`.clip` (02);
* :mod:`.vlm` (LLaVA, 03), :mod:`.qformer` (BLIP-2's connector), :mod:`.vilt` (ViLT).
"""

from .clip import CLIP, CLIPConfig, CNNTower
from .cnn import CNNConfig, SmallCNN
from .fusion import FusionClassifier, FusionConfig
from .layers import Attention, Block, count_parameters
from .vit import ViT, ViTConfig
from .vlm import VLM, VLMConfig

__all__ = ["CLIP", "CLIPConfig", "CNNConfig", "CNNTower", "FusionClassifier", "FusionConfig", "SmallCNN",
           "VLM", "VLMConfig", "ViT", "ViTConfig", "Attention", "Block", "count_parameters"]
