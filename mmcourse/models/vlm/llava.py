"""The course VLM and transformers' ``LlavaForConditionalGeneration``, both ways.

* :func:`to_llava` puts the tiny VLM's weights into the library class (its vision tower
  is the course's CNN, wrapped so that LLaVA reads ``hidden_states[-1]`` from it); then
  a ``LlavaProcessor`` + ``generate`` run it like any checkpoint on the Hub.
* :func:`from_llava` wraps a library LLaVA (a tiny one here; ``llava-hf/llava-1.5-7b-hf``
  in the full profile) in the from-scratch :class:`~mmcourse.models.vlm.VLM`, sharing
  its modules, so the course's splice and generate loop drive a real checkpoint.

Tests check that both give the library's logits.
"""

from __future__ import annotations

from typing import Any

import torch
from torch import nn

from ...contracts import Instance, contract
from .model import VLM, VLMConfig


class LlavaVisionAdapter(nn.Module):
    """Makes a course tower look like a transformers vision model to LLaVA:
    ``forward(pixel_values) -> output with .hidden_states`` (one entry: the patch features).
    """

    def __init__(self, tower: nn.Module) -> None:
        super().__init__()
        self.tower = tower

    def forward(self, pixel_values: torch.Tensor, **kwargs: Any) -> Any:
        from transformers.modeling_outputs import BaseModelOutputWithPooling

        feats = self.tower(pixel_values)  # (B, N, D_v)
        return BaseModelOutputWithPooling(last_hidden_state=feats, pooler_output=feats.mean(1),
                                          hidden_states=(feats,))


class LibraryVisionFeatures(nn.Module):
    """A transformers vision tower read the LLaVA way: ``hidden_states[layer]``, minus the
    CLS token when ``strategy == "default"`` (LLaVA-1.5 uses layer -2, "default").
    """

    def __init__(self, vision_tower: nn.Module, layer: int = -2, strategy: str = "default") -> None:
        super().__init__()
        if strategy not in ("default", "full"):
            raise ValueError(f"strategy={strategy!r}: expected 'default' (drop CLS) or 'full'")
        self.vision_tower, self.layer, self.strategy = vision_tower, layer, strategy

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        out = self.vision_tower(images, output_hidden_states=True)
        feats = out.hidden_states[self.layer]  # (B, 1 + N, D_v) for CLIP
        return feats[:, 1:] if self.strategy == "default" else feats


@contract(vlm=Instance(VLM, "a models.vlm.VLM, e.g. zoo.load('vlm-shapes')"))
def to_llava(vlm: VLM) -> Any:
    """The same model as a transformers ``LlavaForConditionalGeneration`` (weights copied).

    Used in: chapter 03
    """
    from transformers import CLIPVisionConfig, LlavaConfig, LlavaForConditionalGeneration

    if vlm.config.connector != "mlp2x_gelu":
        raise ValueError(f"only the mlp2x_gelu projector has a LLaVA twin; this VLM uses {vlm.config.connector!r}")
    c = vlm.config
    # a placeholder vision config: LLaVA sizes its projector from hidden_size, then we swap the tower in
    vision = CLIPVisionConfig(hidden_size=c.vision_dim, intermediate_size=c.vision_dim, num_hidden_layers=1,
                              num_attention_heads=1, image_size=c.image_size, patch_size=8)
    config = LlavaConfig(vision_config=vision, text_config=vlm.language_model.config.to_dict(),
                         image_token_id=c.image_token_id, vision_feature_layer=-1,
                         vision_feature_select_strategy="full", projector_hidden_act="gelu",
                         multimodal_projector_bias=True)
    llava = LlavaForConditionalGeneration(config)
    llava.model.vision_tower = LlavaVisionAdapter(vlm.vision_tower)
    llava.model.multi_modal_projector.load_state_dict(vlm.multi_modal_projector.state_dict())
    llava.model.language_model.load_state_dict(vlm.language_model.model.state_dict())
    llava.lm_head.load_state_dict(vlm.language_model.lm_head.state_dict())
    lm_cfg = vlm.language_model.config
    llava.generation_config.eos_token_id = lm_cfg.eos_token_id
    llava.generation_config.pad_token_id = lm_cfg.pad_token_id
    return llava.eval()


def from_llava(llava: Any, tokenizer: Any = None) -> VLM:
    """Wrap a library LLaVA in the from-scratch :class:`VLM`, sharing (not copying) its modules;
    ``tokenizer`` (the checkpoint's, e.g. ``processor.tokenizer``) lets the VLM take text.
    """
    from transformers import AutoModelForCausalLM

    cfg = llava.config
    layer = cfg.vision_feature_layer
    if not isinstance(layer, int):
        raise ValueError("from_llava handles a single vision_feature_layer (an int)")
    tower = LibraryVisionFeatures(llava.model.vision_tower, layer, cfg.vision_feature_select_strategy)
    with torch.device("meta"):
        lm = AutoModelForCausalLM.from_config(cfg.text_config)
    lm.model = llava.model.language_model
    lm.lm_head = llava.lm_head
    config = VLMConfig(vision_dim=cfg.vision_config.hidden_size, image_size=cfg.vision_config.image_size,
                       image_token_id=cfg.image_token_id)
    vlm = VLM(config, tower, lm, tokenizer)
    vlm.multi_modal_projector = llava.model.multi_modal_projector
    return vlm.eval()
