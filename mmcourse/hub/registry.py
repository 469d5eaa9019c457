"""The registry of real checkpoints the full profile loads: where each lives, which library
class loads it, what it costs and which licence it carries.

Sizes and licences come from the checkpoints' Hub pages, the open_clip results csv
(``mlfoundations/open_clip docs/openclip_results.csv``) and the LLaVA repository.
``min_gpu_gb`` is an estimate, not a measurement: weights x 1.2 + 1 GB for activations and
the CUDA context, rounded up to 0.5 GB. ``measured`` holds what ``python -m mmcourse smoke``
measured on a GPU, where it has been run.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .. import viz
from ..contracts import Choice, Maybe, contract
from .tiny import (
    blip,
    blip2,
    clap,
    clip,
    clip_b16,
    ddpm,
    instructblip,
    janus,
    llava,
    llava_onevision,
    qwen2_5_vl,
    siglip,
    smolvlm,
    stable_diffusion,
    videomae,
    vilt,
    vit,
    vqmodel,
    whisper,
    xclip,
)

T4_GB = 16.0  # a free Colab T4: the course's floor for the full profile


@dataclass(frozen=True)
class ModelSpec:
    """One real checkpoint: where it lives, which class loads it, and what it costs."""

    name: str  # the course's short name
    repo_id: str
    library: str  # "transformers", "diffusers" or REMOTE_CODE
    cls: str  # class name inside the library
    params_m: float | None  # parameters, millions (None: not verified)
    licence: str
    chapter: str
    task: str
    subfolder: str | None = None
    weights_gb: float | None = None  # when not 2 bytes x params (quantised or measured)
    quantization: str | None = None  # "nf4" for bitsandbytes 4-bit
    tiny: Callable[[], Any] | None = None  # builds the same class from a tiny config
    note: str = ""
    params_approx: bool = False  # params_m is a model card's round figure ("3B"), not a count

    @property
    def fp16_gb(self) -> float | None:
        """Weights in fp16 (2 bytes per parameter), GB."""
        return None if self.params_m is None else round(self.params_m * 2e6 / 1e9, 2)

    @property
    def load_gb(self) -> float | None:
        """Weights as loaded: quantised size when quantised, else fp16."""
        return self.weights_gb if self.weights_gb is not None else self.fp16_gb

    @property
    def min_gpu_gb(self) -> float | None:
        """Estimated minimum GPU memory: weights x 1.2 + 1 GB, rounded up to 0.5 GB."""
        gb = self.load_gb
        return None if gb is None else math.ceil((gb * 1.2 + 1.0) * 2) / 2

    @property
    def fits_t4(self) -> bool | None:
        """Whether it should fit a free Colab T4 (16 GB) by the estimate; None if unknown."""
        gb = self.min_gpu_gb
        return None if gb is None else gb <= T4_GB


_T, _D = "transformers", "diffusers"
REMOTE_CODE = "remote code"  # a repo's own Python files (trust_remote_code=True): not loaded here

REGISTRY: dict[str, ModelSpec] = {
    s.name: s
    for s in [
        ModelSpec("clip-b16", "openai/clip-vit-base-patch16", _T, "CLIPModel", 150, "MIT", "02",
                  "contrastive image-text", tiny=clip_b16),
        ModelSpec("clip-b32", "openai/clip-vit-base-patch32", _T, "CLIPModel", 151, "MIT", "02",
                  "contrastive image-text (CPU pick)", tiny=clip),
        ModelSpec("siglip-b16", "google/siglip-base-patch16-224", _T, "SiglipModel", 203, "Apache-2.0",
                  "02", "sigmoid image-text", tiny=siglip,
                  note='processor needs padding="max_length"'),
        ModelSpec("vit-b16", "google/vit-base-patch16-224", _T, "ViTForImageClassification", 86,
                  "Apache-2.0", "01", "ImageNet classification", tiny=vit,
                  note="86M: ViT paper (Dosovitskiy et al. 2021) Table 1, ViT-Base"),
        ModelSpec("llava-onevision-0.5b", "llava-hf/llava-onevision-qwen2-0.5b-ov-hf", _T,
                  "LlavaOnevisionForConditionalGeneration", 900, "Apache-2.0", "03", "image chat",
                  weights_gb=1.8, tiny=llava_onevision),
        ModelSpec("llava-1.5-7b", "llava-hf/llava-1.5-7b-hf", _T, "LlavaForConditionalGeneration",
                  7060, "Llama 2", "03", "image chat (4-bit)", weights_gb=4.0, quantization="nf4",
                  tiny=llava, note="14.1 GB in fp16; bitsandbytes 4-bit needs CUDA"),
        ModelSpec("smolvlm-256m", "HuggingFaceTB/SmolVLM-256M-Instruct", _T,
                  "AutoModelForImageTextToText", 256, "Apache-2.0", "03", "image chat (CPU pick)",
                  tiny=smolvlm),
        ModelSpec("blip-caption-base", "Salesforce/blip-image-captioning-base", _T,
                  "BlipForConditionalGeneration", 250, "BSD-3-Clause", "03", "captioning",
                  tiny=blip),
        ModelSpec("instructblip-flan-t5-xl", "Salesforce/instructblip-flan-t5-xl", _T,
                  "InstructBlipForConditionalGeneration", 4000, "MIT", "03",
                  "instruction-following VQA (Q-Former reads the instruction)", tiny=instructblip,
                  params_approx=True,
                  note="~4B: BLIP-2 Flan-T5-XL is 3.94B (its model card); the Vicuna-7B/13B "
                       "variants inherit LLaMA's non-commercial terms"),
        ModelSpec("qwen2.5-vl-3b", "Qwen/Qwen2.5-VL-3B-Instruct", _T, "Qwen2_5_VLForConditionalGeneration",
                  3000, "Qwen Research License (non-commercial)", "03",
                  "image/video chat at native resolution", tiny=qwen2_5_vl, params_approx=True,
                  note="~3B per its model card; Qwen2.5-VL-7B-Instruct is Apache-2.0 but needs 4-bit "
                       "on a T4; processor needs torchvision (video)"),
        ModelSpec("cogvlm2-19b", "THUDM/cogvlm2-llama3-chat-19B", REMOTE_CODE,
                  "AutoModelForCausalLM + trust_remote_code", 19000, "CogVLM2 licence + Llama 3 licence",
                  "03", "image chat (visual expert in every layer)", params_approx=True,
                  note="ships only remote code (no transformers class): the course does not run it; "
                       "qwen2.5-vl-3b is the transformers-native alternative"),
        ModelSpec("vilt-vqa", "dandelin/vilt-b32-finetuned-vqa", _T, "ViltForQuestionAnswering", 120,
                  "Apache-2.0", "03", "visual question answering", tiny=vilt),
        ModelSpec("blip2-opt-2.7b", "Salesforce/blip2-opt-2.7b", _T, "Blip2ForConditionalGeneration",
                  3900, "see model card", "03", "captioning / VQA with a Q-Former",
                  tiny=blip2, note="size from the model card, not re-measured"),
        ModelSpec("whisper-base", "openai/whisper-base", _T, "WhisperForConditionalGeneration", 74,
                  "Apache-2.0", "04", "speech recognition", tiny=whisper),
        ModelSpec("whisper-tiny", "openai/whisper-tiny", _T, "WhisperForConditionalGeneration", 39,
                  "Apache-2.0", "04", "speech recognition (CPU pick)", tiny=whisper),
        ModelSpec("clap-htsat-unfused", "laion/clap-htsat-unfused", _T, "ClapModel", 153,
                  "Apache-2.0", "04", "contrastive audio-text", tiny=clap),
        ModelSpec("videomae-kinetics", "MCG-NJU/videomae-base-finetuned-kinetics", _T,
                  "VideoMAEForVideoClassification", 87, "CC-BY-NC-4.0", "04",
                  "video classification (16 frames)", tiny=videomae,
                  note="non-commercial licence"),
        ModelSpec("xclip-b32", "microsoft/xclip-base-patch32", _T, "XCLIPModel", 197, "MIT", "04",
                  "contrastive video-text (8 frames)", tiny=xclip),
        ModelSpec("amused-vq", "amused/amused-256", _D, "VQModel", 146, "OpenRAIL++", "06",
                  "VQ image tokenizer (8192 codes)", subfolder="vqvae", weights_gb=0.293,
                  tiny=vqmodel),
        ModelSpec("janus-pro-1b", "deepseek-community/Janus-Pro-1B", _T,
                  "JanusForConditionalGeneration", 2000, "MIT (hub tag); DeepSeek Model License (repo)", "06",
                  "unified understand + generate",
                  weights_gb=4.2, tiny=janus, note='generate(..., generation_mode="image") draws'),
        ModelSpec("sd-turbo", "stabilityai/sd-turbo", _D, "AutoPipelineForText2Image", 1300,
                  "Stability AI community (non-commercial)", "05", "text-to-image, 1-4 steps",
                  tiny=stable_diffusion, note='variant="fp16", num_inference_steps=1, guidance_scale=0.0'),
        # UNet 323.4M (segmind/distill-sd README) + SD 1.5's VAE 83.7M and CLIP ViT-L/14 text encoder 123.1M
        # (counted from their configs)
        ModelSpec("tiny-sd", "segmind/tiny-sd", _D, "StableDiffusionPipeline", 530.1, "CreativeML OpenRAIL-M", "05",
                  "SD-1.5-class text-to-image, distilled UNet", tiny=stable_diffusion,
                  note="guidance_scale 7.5, negative_prompt; ~25 steps"),
        ModelSpec("ddpm-cifar10", "google/ddpm-cifar10-32", _D, "DDPMPipeline", 35.7, "Apache-2.0",
                  "05", "unconditional DDPM, 32x32", tiny=ddpm),
    ]
}


@contract()
def names() -> list[str]:
    """Every registered model name.

    Used in: chapter 07
    """
    return list(REGISTRY)


@contract(name=Choice(tuple(REGISTRY)))
def spec(name: str) -> ModelSpec:
    """The :class:`ModelSpec` for ``name``; a clear error listing known names otherwise.

    Used in: chapters 01, 02, 03, 04, 06, 07
    """
    if not isinstance(name, str) or name not in REGISTRY:
        raise ValueError(f"name={name!r} is not in the hub registry; known names: {', '.join(REGISTRY)}")
    return REGISTRY[name]


MEASURED = Path(__file__).with_name("measured.json")


def measured() -> dict[str, dict[str, Any]]:
    """What ``python -m mmcourse smoke --record`` measured on a GPU: name -> {peak_gb, load_s,
    throughput, unit, gpu}. Empty until someone runs it on a CUDA machine."""
    return json.loads(MEASURED.read_text()) if MEASURED.exists() else {}


@contract(chapter=Maybe(Choice(tuple(sorted({s.chapter for s in REGISTRY.values()})))))
def table(chapter: str | None = None, *, display: bool = True) -> list[dict[str, Any]]:
    """The registry as rows (and a displayed Markdown table), optionally for one chapter.

    Used in: chapters 00, 03, 04, 05, 06
    """
    rows = []
    gpu = measured()
    for s in REGISTRY.values():
        if chapter is not None and s.chapter != chapter:
            continue
        done = gpu.get(s.name)
        rows.append({
            "name": s.name,
            "repo id": s.repo_id,
            "class": s.cls,
            "params (M)": "—" if s.params_m is None else ("~" if s.params_approx else "") + f"{s.params_m:g}",
            "fp16 GB": "—" if s.fp16_gb is None else f"{s.fp16_gb:.2f}",
            "loaded GB": "—" if s.load_gb is None else f"{s.load_gb:.2f}" + (f" ({s.quantization})" if s.quantization else ""),
            "min GPU GB": (f"{done['peak_gb']:.1f} (measured, {done['gpu']})" if done else
                           "—" if s.min_gpu_gb is None else f"{s.min_gpu_gb:g} (est.)"),
            "fits a T4": ("yes" if done and done["peak_gb"] <= T4_GB else "no" if done else
                          "?" if s.fits_t4 is None else ("yes (est.)" if s.fits_t4 else "no (est.)")),
            "licence": s.licence,
            "chapter": s.chapter,
            "tiny stand-in": "yes" if s.tiny else "no",
        })
    if not rows:
        raise ValueError(f"chapter={chapter!r} has no models in the registry")
    if display:
        viz.table(rows)
    return rows
