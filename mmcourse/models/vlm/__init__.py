"""LLaVA from scratch: a frozen vision tower, a projector, and a causal language model.

The recipe of LLaVA (Liu et al., 2023, "Visual Instruction Tuning", §4.1) and LLaVA-1.5
(Liu et al., 2024, "Improved Baselines with Visual Instruction Tuning", §3.2):

1. The vision tower turns an image into N patch features ``Z_v = g(X_v)``  (N, D_v).
2. The projector maps them into the word-embedding space, ``H_v = W · Z_v`` (eq. 1 of
   LLaVA; LLaVA-1.5's ``mlp2x_gelu`` is Linear -> GELU -> Linear).
3. The prompt's ``<image>`` placeholder is replaced by the N projected features (the
   *splice*); their labels are ``IGNORE_INDEX`` so no loss is asked of them.
4. The language model continues the sequence; the loss is next-token cross-entropy on
   the answer tokens only (eq. 3).

Names match transformers' ``LlavaForConditionalGeneration`` (``multi_modal_projector.linear_1``
...), so :mod:`mmcourse.models.vlm.llava` moves weights across both ways.
"""

from .language import tiny_llama
from .llava import LibraryVisionFeatures, LlavaVisionAdapter, from_llava, to_llava
from .model import CONNECTORS, VLM, VLMConfig
from .projector import Projector
from .splice import splice_image_features
from .tower import PatchFeatureTower

__all__ = ["CONNECTORS", "VLM", "LibraryVisionFeatures", "LlavaVisionAdapter", "PatchFeatureTower", "Projector",
           "VLMConfig", "from_llava", "splice_image_features", "tiny_llama", "to_llava"]
