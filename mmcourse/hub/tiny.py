"""Tiny configurations of the real library classes in the hub registry.

In the tiny profile, ``hub.load(name, cfg)`` builds the *same class* a full-profile
run downloads, from one of these configs, with random weights: the code path, the
tensor shapes and the library API are the real ones; only the size differs. The same
models, saved with working processors, make the stand-in hub (``hub/standin.py``).

Where a chapter feeds a model from its processor, the tiny config keeps the real input
resolution and patch size (ViT-B/16 reads 224 px in 16 px patches, BLIP 384 px, ...), so
the real preprocessing shapes hold; only width and depth shrink.
"""

from __future__ import annotations

from typing import Any

# Small, shared sizes: 2 layers, width 32, 2-4 heads.
_VISION = dict(hidden_size=32, intermediate_size=64, num_hidden_layers=2, num_attention_heads=2,
               image_size=32, patch_size=8)
_TEXT = dict(vocab_size=1000, hidden_size=32, intermediate_size=64, num_hidden_layers=2,
             num_attention_heads=2, max_position_embeddings=64, pad_token_id=0, bos_token_id=1,
             eos_token_id=3)


def _real_resolution(image_size: int, patch_size: int) -> dict[str, int]:
    return dict(_VISION, image_size=image_size, patch_size=patch_size)


def clip(patch_size: int = 32) -> Any:
    """CLIP ViT-B/32 (or /16) at 224 px; text up to CLIP's 77 tokens."""
    from transformers import CLIPConfig, CLIPModel

    # eos_token_id != 2: CLIP treats eos_token_id == 2 as "legacy" argmax pooling (modeling_clip.py)
    text = dict(_TEXT, max_position_embeddings=77)
    return CLIPModel(CLIPConfig(text_config=text, vision_config=_real_resolution(224, patch_size),
                                projection_dim=16))


def clip_b16() -> Any:
    return clip(patch_size=16)


def siglip() -> Any:
    from transformers import SiglipConfig, SiglipModel

    return SiglipModel(SiglipConfig(text_config=_TEXT, vision_config=_VISION))


def vit() -> Any:
    from transformers import ViTConfig, ViTForImageClassification

    return ViTForImageClassification(ViTConfig(**_real_resolution(224, 16), num_labels=10))


def llava() -> Any:
    from transformers import LlavaConfig, LlavaForConditionalGeneration

    vision = dict(_VISION, model_type="clip_vision_model")
    text = dict(_TEXT, model_type="llama", num_key_value_heads=2)
    return LlavaForConditionalGeneration(
        LlavaConfig(vision_config=vision, text_config=text, image_token_index=999,
                    vision_feature_layer=-1, vision_feature_select_strategy="full")
    )


def llava_onevision() -> Any:
    from transformers import LlavaOnevisionConfig, LlavaOnevisionForConditionalGeneration

    vision = dict(_VISION, model_type="siglip_vision_model")
    text = dict(_TEXT, model_type="qwen2", num_key_value_heads=2)
    return LlavaOnevisionForConditionalGeneration(
        LlavaOnevisionConfig(vision_config=vision, text_config=text, image_token_index=999,
                             image_grid_pinpoints=[[32, 32], [32, 64], [64, 32]],
                             vision_feature_layer=-1)
    )


def smolvlm() -> Any:
    from transformers import AutoModelForImageTextToText, SmolVLMConfig

    vision = dict(_VISION, model_type="smolvlm_vision")
    text = dict(_TEXT, model_type="llama", num_key_value_heads=2)
    config = SmolVLMConfig(vision_config=vision, text_config=text, image_token_id=999, scale_factor=2)
    return AutoModelForImageTextToText.from_config(config)


def blip() -> Any:
    from transformers import BlipConfig, BlipForConditionalGeneration

    return BlipForConditionalGeneration(BlipConfig(text_config=_TEXT, vision_config=_real_resolution(384, 16),
                                                   projection_dim=16))


def blip2() -> Any:
    from transformers import Blip2Config, Blip2ForConditionalGeneration

    qformer = dict(vocab_size=1000, hidden_size=32, num_hidden_layers=2, num_attention_heads=2,
                   intermediate_size=64, encoder_hidden_size=32)
    text = dict(model_type="opt", vocab_size=1000, hidden_size=32, ffn_dim=64, num_hidden_layers=2,
                num_attention_heads=2, max_position_embeddings=64, word_embed_proj_dim=32)
    return Blip2ForConditionalGeneration(
        Blip2Config(vision_config=_VISION, qformer_config=qformer, text_config=text,
                    num_query_tokens=4, image_token_index=999)
    )


def vilt() -> Any:
    from transformers import ViltConfig, ViltForQuestionAnswering

    return ViltForQuestionAnswering(
        ViltConfig(vocab_size=1000, hidden_size=32, num_hidden_layers=2, num_attention_heads=2,
                   intermediate_size=64, image_size=384, patch_size=32, max_position_embeddings=40,
                   num_labels=10)
    )


def whisper() -> Any:
    """Input: 1 s of audio (100 frames; the real models take 30 s). Its generation config
    carries the language and task ids ``generate(language=..., task=...)`` looks up."""
    from transformers import WhisperConfig, WhisperForConditionalGeneration

    from .processors import WHISPER_TOKENS as t
    model = WhisperForConditionalGeneration(
        WhisperConfig(vocab_size=1000, num_mel_bins=80, d_model=32, encoder_layers=2, decoder_layers=2,
                      encoder_attention_heads=2, decoder_attention_heads=2, encoder_ffn_dim=64,
                      decoder_ffn_dim=64, max_source_positions=50, max_target_positions=64,
                      decoder_start_token_id=t["<|startoftranscript|>"], pad_token_id=0,
                      bos_token_id=t["<|startoftranscript|>"], eos_token_id=t["<|endoftext|>"])
    )
    g = model.generation_config
    g.is_multilingual = True
    g.lang_to_id = {"<|en|>": t["<|en|>"]}
    g.task_to_id = {"transcribe": t["<|transcribe|>"], "translate": t["<|translate|>"]}
    g.no_timestamps_token_id = t["<|notimestamps|>"]
    g.max_length = 64
    g._from_model_config = False  # else from_pretrained rebuilds it from config.json and drops the ids
    return model


def clap() -> Any:
    from transformers import ClapConfig, ClapModel

    audio = dict(spec_size=64, num_mel_bins=64, patch_embeds_hidden_size=16, depths=[1, 1],
                 num_attention_heads=[2, 2], hidden_size=32, window_size=4, patch_size=4,
                 projection_hidden_size=32)
    text = dict(_TEXT, projection_hidden_size=32)
    return ClapModel(ClapConfig(text_config=text, audio_config=audio, projection_dim=16))


def videomae() -> Any:
    from transformers import VideoMAEConfig, VideoMAEForVideoClassification

    return VideoMAEForVideoClassification(
        VideoMAEConfig(**{**_VISION, "image_size": 32}, num_frames=4, tubelet_size=2, num_labels=10)
    )


def xclip() -> Any:
    from transformers import XCLIPConfig, XCLIPModel

    vision = dict(_VISION, num_frames=4, mit_hidden_size=32, mit_intermediate_size=64,
                  mit_num_hidden_layers=1, mit_num_attention_heads=2)
    return XCLIPModel(XCLIPConfig(text_config=_TEXT, vision_config=vision, projection_dim=32,  # == mit_hidden_size
                                  prompt_layers=1, prompt_attention_heads=2,
                                  prompt_projection_dropout=0.0))


#: Janus's special ids in the stand-in vocabulary (the processor in hub/processors.py puts its tokens there)
JANUS_BOI, JANUS_EOI = 997, 998


def janus() -> Any:
    """Janus-Pro's three parts, tiny: a SigLIP-style encoder for understanding (16 image tokens),
    a VQ tokenizer for generation (64 codes, 4x4 per image) and a Llama, plus the generation
    config whose ``boi_token_id`` image generation starts from."""
    from transformers import GenerationConfig, JanusConfig, JanusForConditionalGeneration

    vision = dict(_VISION, projection_dim=32, num_image_tokens=16, depth=1)
    vq = dict(embed_dim=8, num_embeddings=64, latent_channels=32, base_channels=32, channel_multiplier=[1, 1],
              num_res_blocks=1, num_patches=16, projection_dim=32, image_token_embed_dim=32, num_hidden_layers=1)
    text = dict(_TEXT, model_type="llama", num_key_value_heads=2, max_position_embeddings=128)
    model = JanusForConditionalGeneration(JanusConfig(text_config=text, vision_config=vision, vq_config=vq,
                                                      image_token_id=999))
    model.generation_config = GenerationConfig(bos_token_id=1, eos_token_id=3, pad_token_id=0,
                                               generation_kwargs={"boi_token_id": JANUS_BOI})
    return model


def vqmodel() -> Any:
    from diffusers import VQModel

    return VQModel(in_channels=3, out_channels=3, down_block_types=("DownEncoderBlock2D",) * 2,
                   up_block_types=("UpDecoderBlock2D",) * 2, block_out_channels=(16, 32),
                   layers_per_block=1, latent_channels=8, num_vq_embeddings=64, norm_num_groups=8,
                   vq_embed_dim=8, lookup_from_codebook=True)  # as aMUSEd's: decode() takes code indices


def ddpm() -> Any:
    from diffusers import DDPMPipeline, DDPMScheduler, UNet2DModel

    unet = UNet2DModel(sample_size=16, in_channels=3, out_channels=3, layers_per_block=1,
                       block_out_channels=(16, 32), norm_num_groups=8,
                       down_block_types=("DownBlock2D", "AttnDownBlock2D"),
                       up_block_types=("AttnUpBlock2D", "UpBlock2D"))
    return DDPMPipeline(unet=unet, scheduler=DDPMScheduler(num_train_timesteps=100))


def instructblip() -> Any:
    from transformers import InstructBlipConfig, InstructBlipForConditionalGeneration

    qformer = dict(vocab_size=1000, hidden_size=32, num_hidden_layers=2, num_attention_heads=2,
                   intermediate_size=64, encoder_hidden_size=32, max_position_embeddings=64)
    # Flan-T5, as in instructblip-flan-t5-xl: an encoder-decoder language model
    text = dict(model_type="t5", vocab_size=1000, d_model=32, d_kv=16, d_ff=64, num_layers=2,
                num_heads=2, pad_token_id=0, eos_token_id=1, decoder_start_token_id=0)
    return InstructBlipForConditionalGeneration(
        InstructBlipConfig(vision_config=_VISION, qformer_config=qformer, text_config=text,
                           num_query_tokens=4, image_token_index=999)
    )


def qwen2_5_vl() -> Any:
    from transformers import Qwen2_5_VLConfig, Qwen2_5_VLForConditionalGeneration

    vision = dict(depth=2, hidden_size=32, intermediate_size=64, num_heads=2, patch_size=14,
                  spatial_merge_size=2, temporal_patch_size=2, window_size=56, out_hidden_size=32,
                  fullatt_block_indexes=[1])
    text = dict(vocab_size=1000, hidden_size=32, intermediate_size=64, num_hidden_layers=2,
                num_attention_heads=2, num_key_value_heads=2, max_position_embeddings=256,
                pad_token_id=0, bos_token_id=1, eos_token_id=3, rope_parameters={"rope_type": "default", "rope_theta": 10000.0, "mrope_section": [2, 3, 3]})
    return Qwen2_5_VLForConditionalGeneration(
        Qwen2_5_VLConfig(vision_config=vision, text_config=text, image_token_id=996, video_token_id=997,
                         vision_start_token_id=998, vision_end_token_id=999)
    )


def stable_diffusion() -> Any:
    """A tiny text-to-image pipeline of SD-Turbo's classes (UNet, VAE, CLIP text encoder)."""
    from diffusers import (
        AutoencoderKL,
        EulerDiscreteScheduler,
        StableDiffusionPipeline,
        UNet2DConditionModel,
    )
    from transformers import CLIPTextConfig, CLIPTextModel

    from .processors import clip_tokenizer

    unet = UNet2DConditionModel(sample_size=8, in_channels=4, out_channels=4, layers_per_block=1,
                                block_out_channels=(16, 32), norm_num_groups=8, cross_attention_dim=32,
                                attention_head_dim=4,
                                down_block_types=("DownBlock2D", "CrossAttnDownBlock2D"),
                                up_block_types=("CrossAttnUpBlock2D", "UpBlock2D"))
    vae = AutoencoderKL(in_channels=3, out_channels=3, latent_channels=4, block_out_channels=(16, 32),
                        down_block_types=("DownEncoderBlock2D",) * 2, up_block_types=("UpDecoderBlock2D",) * 2,
                        layers_per_block=1, norm_num_groups=8, sample_size=16)
    text_encoder = CLIPTextModel(CLIPTextConfig(**{**_TEXT, "max_position_embeddings": 77}))
    scheduler = EulerDiscreteScheduler(num_train_timesteps=1000, timestep_spacing="trailing", steps_offset=1)
    return StableDiffusionPipeline(unet=unet, vae=vae, text_encoder=text_encoder, tokenizer=clip_tokenizer(),
                                   scheduler=scheduler, safety_checker=None, feature_extractor=None,
                                   requires_safety_checker=False)
