"""The registry of real checkpoints for the full profile, and ``load`` for both profiles.

* full profile: ``from_pretrained`` with the run config's dtype and device.
* tiny profile: the *same library class* built from a tiny config (random weights),
  with a printed notice, so the code path is exercised offline on a CPU.

Sizes and licences come from the checkpoints' Hub pages, the open_clip results csv
(``mlfoundations/open_clip docs/openclip_results.csv``) and the LLaVA repository. ``min_gpu_gb`` is an estimate, not a measurement: weights
x 1.2 + 1 GB for activations and the CUDA context, rounded up to 0.5 GB.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from .. import viz
from ..compat import dtype_kwargs
from ..contracts import Choice, Instance, Maybe, contract
from ..runtime import RunConfig, hub_offline
from . import tiny


@dataclass(frozen=True)
class ModelSpec:
    """One real checkpoint: where it lives, which class loads it, and what it costs."""

    name: str  # the course's short name
    repo_id: str
    library: str  # "transformers" or "diffusers"
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


_T, _D = "transformers", "diffusers"

REGISTRY: dict[str, ModelSpec] = {
    s.name: s
    for s in [
        ModelSpec("clip-b16", "openai/clip-vit-base-patch16", _T, "CLIPModel", 150, "MIT", "02",
                  "contrastive image-text", tiny=tiny.clip),
        ModelSpec("clip-b32", "openai/clip-vit-base-patch32", _T, "CLIPModel", 151, "MIT", "02",
                  "contrastive image-text (CPU pick)", tiny=tiny.clip),
        ModelSpec("siglip-b16", "google/siglip-base-patch16-224", _T, "SiglipModel", 203, "Apache-2.0",
                  "02", "sigmoid image-text", tiny=tiny.siglip,
                  note='processor needs padding="max_length"'),
        ModelSpec("vit-b16", "google/vit-base-patch16-224", _T, "ViTForImageClassification", 86,
                  "Apache-2.0", "01", "ImageNet classification", tiny=tiny.vit,
                  note="86M: ViT paper (Dosovitskiy et al. 2021) Table 1, ViT-Base"),
        ModelSpec("llava-onevision-0.5b", "llava-hf/llava-onevision-qwen2-0.5b-ov-hf", _T,
                  "LlavaOnevisionForConditionalGeneration", 900, "Apache-2.0", "03", "image chat",
                  weights_gb=1.8, tiny=tiny.llava_onevision),
        ModelSpec("llava-1.5-7b", "llava-hf/llava-1.5-7b-hf", _T, "LlavaForConditionalGeneration",
                  7060, "Llama 2", "03", "image chat (4-bit)", weights_gb=4.0, quantization="nf4",
                  tiny=tiny.llava, note="14.1 GB in fp16; bitsandbytes 4-bit needs CUDA"),
        ModelSpec("smolvlm-256m", "HuggingFaceTB/SmolVLM-256M-Instruct", _T,
                  "AutoModelForImageTextToText", 256, "Apache-2.0", "03", "image chat (CPU pick)",
                  tiny=tiny.smolvlm),
        ModelSpec("blip-caption-base", "Salesforce/blip-image-captioning-base", _T,
                  "BlipForConditionalGeneration", 250, "BSD-3-Clause", "03", "captioning",
                  tiny=tiny.blip),
        ModelSpec("vilt-vqa", "dandelin/vilt-b32-finetuned-vqa", _T, "ViltForQuestionAnswering", 120,
                  "Apache-2.0", "03", "visual question answering", tiny=tiny.vilt),
        ModelSpec("blip2-opt-2.7b", "Salesforce/blip2-opt-2.7b", _T, "Blip2ForConditionalGeneration",
                  3900, "see model card", "03", "captioning / VQA with a Q-Former",
                  tiny=tiny.blip2, note="size from the model card, not re-measured"),
        ModelSpec("whisper-base", "openai/whisper-base", _T, "WhisperForConditionalGeneration", 74,
                  "Apache-2.0", "04", "speech recognition", tiny=tiny.whisper),
        ModelSpec("whisper-tiny", "openai/whisper-tiny", _T, "WhisperForConditionalGeneration", 39,
                  "Apache-2.0", "04", "speech recognition (CPU pick)", tiny=tiny.whisper),
        ModelSpec("clap-htsat-unfused", "laion/clap-htsat-unfused", _T, "ClapModel", 153,
                  "Apache-2.0", "04", "contrastive audio-text", tiny=tiny.clap),
        ModelSpec("videomae-kinetics", "MCG-NJU/videomae-base-finetuned-kinetics", _T,
                  "VideoMAEForVideoClassification", 87, "CC-BY-NC-4.0", "04",
                  "video classification (16 frames)", tiny=tiny.videomae,
                  note="non-commercial licence"),
        ModelSpec("xclip-b32", "microsoft/xclip-base-patch32", _T, "XCLIPModel", 197, "MIT", "04",
                  "contrastive video-text (8 frames)", tiny=tiny.xclip),
        ModelSpec("amused-vq", "amused/amused-256", _D, "VQModel", 146, "OpenRAIL++", "06",
                  "VQ image tokenizer (8192 codes)", subfolder="vqvae", weights_gb=0.293,
                  tiny=tiny.vqmodel),
        ModelSpec("janus-pro-1b", "deepseek-community/Janus-Pro-1B", _T,
                  "JanusForConditionalGeneration", 2000, "MIT", "06", "unified understand + generate",
                  weights_gb=4.2, note="a third-party report says .generate() has trouble on 5.x"),
        ModelSpec("sd-turbo", "stabilityai/sd-turbo", _D, "AutoPipelineForText2Image", 1300,
                  "Stability AI community (non-commercial)", "05", "text-to-image, 1-4 steps",
                  note='variant="fp16", num_inference_steps=1, guidance_scale=0.0'),
        ModelSpec("ddpm-cifar10", "google/ddpm-cifar10-32", _D, "DDPMPipeline", 35.7, "Apache-2.0",
                  "05", "unconditional DDPM, 32x32", tiny=tiny.ddpm),
    ]
}


class HubError(RuntimeError):
    """A checkpoint could not be loaded; the message says what to do instead."""

    def _render_traceback_(self) -> list[str]:  # one clear line in Jupyter
        return [f"HubError: {self}"]


def names() -> list[str]:
    """Every registered model name."""
    return list(REGISTRY)


@contract(name=Choice(tuple(REGISTRY)))
def spec(name: str) -> ModelSpec:
    """The :class:`ModelSpec` for ``name``; a clear error listing known names otherwise.

    Used in: chapters 01, 02, 03
    """
    if not isinstance(name, str) or name not in REGISTRY:
        raise ValueError(f"name={name!r} is not in the hub registry; known names: {', '.join(REGISTRY)}")
    return REGISTRY[name]


@contract(chapter=Maybe(Choice(tuple(sorted({s.chapter for s in REGISTRY.values()})))))
def table(chapter: str | None = None, *, display: bool = True) -> list[dict[str, Any]]:
    """The registry as rows (and a displayed Markdown table), optionally for one chapter.

    Used in: chapters 00, 03
    """
    rows = []
    for s in REGISTRY.values():
        if chapter is not None and s.chapter != chapter:
            continue
        rows.append({
            "name": s.name,
            "repo id": s.repo_id,
            "class": s.cls,
            "params (M)": "—" if s.params_m is None else f"{s.params_m:g}",
            "fp16 GB": "—" if s.fp16_gb is None else f"{s.fp16_gb:.2f}",
            "loaded GB": "—" if s.load_gb is None else f"{s.load_gb:.2f}" + (f" ({s.quantization})" if s.quantization else ""),
            "min GPU GB (est.)": "—" if s.min_gpu_gb is None else f"{s.min_gpu_gb:g}",
            "licence": s.licence,
            "chapter": s.chapter,
            "tiny stand-in": "yes" if s.tiny else "no",
        })
    if not rows:
        raise ValueError(f"chapter={chapter!r} has no models in the registry")
    if display:
        viz.table(rows)
    return rows


def _library_class(s: ModelSpec) -> Any:
    import importlib

    module = importlib.import_module(s.library)
    return getattr(module, s.cls)


@contract(name=Choice(tuple(REGISTRY)), cfg=Maybe(Instance(RunConfig)))
def build_tiny(name: str, cfg: RunConfig | None = None, *, verbose: bool = True) -> Any:
    """The tiny stand-in for ``name``: the same class, a tiny config, random weights."""
    s = spec(name)
    if s.tiny is None:
        raise HubError(
            f"{name!r} ({s.cls}) has no tiny stand-in yet: it needs the full profile and a GPU "
            f"(see chapter {s.chapter} for what the tiny profile uses instead)"
        )
    model = s.tiny()
    if cfg is not None and hasattr(model, "to"):
        model = model.to(cfg.device)
    if verbose:
        modules = [model] if hasattr(model, "parameters") and callable(model.parameters) else [
            m for m in getattr(model, "components", {}).values() if hasattr(m, "parameters")]
        n = sum(p.numel() for m in modules for p in m.parameters())
        full = f"{s.params_m:g}M" if s.params_m else "?"
        print(f"[tiny profile] built {s.library}.{type(model).__name__} from a tiny config "
              f"({n / 1e3:.0f}k parameters, random weights) instead of loading {s.repo_id} ({full})")
    return model


@contract(name=Choice(tuple(REGISTRY)), cfg=Instance(RunConfig, "the RunConfig of mmcourse.setup()"))
def load(name: str, cfg: RunConfig, **kwargs: Any) -> Any:
    """Load checkpoint ``name`` for the run: real weights (full) or a tiny stand-in (tiny).

    Args:
        name: a registry name (see :func:`names`).
        cfg: the run config from :func:`mmcourse.setup`.
        **kwargs: passed on to ``from_pretrained`` (full profile only).

    Raises:
        ValueError: unknown name (the message lists the known ones).
        HubError: full profile but the checkpoint cannot be had (offline, not cached,
            no CUDA for a 4-bit model); the message says what to do instead.

    Used in: chapters 00, 01, 02, 03
    """
    s = spec(name)
    if not isinstance(cfg, RunConfig):
        raise TypeError(f"cfg must be the RunConfig from mmcourse.setup(); got {type(cfg).__name__}")
    if cfg.is_tiny:
        return build_tiny(name, cfg)
    cls = _library_class(s)
    options: dict[str, Any] = dict(dtype_kwargs(s.library, cfg.dtype))
    if s.subfolder:
        options["subfolder"] = s.subfolder
    if hub_offline():
        options["local_files_only"] = True
    if s.quantization == "nf4":
        if cfg.device != "cuda":
            raise HubError(f"{name!r} loads in 4-bit with bitsandbytes, which needs a CUDA GPU; "
                           f"this run is on {cfg.device}. Pick a smaller model, e.g. 'smolvlm-256m'.")
        import torch
        from transformers import BitsAndBytesConfig

        options["quantization_config"] = BitsAndBytesConfig(
            load_in_4bit=True, bnb_4bit_quant_type="nf4", bnb_4bit_compute_dtype=torch.float16)
        options["device_map"] = {"": 0}
    options.update(kwargs)
    try:
        model = cls.from_pretrained(s.repo_id, **options)
    except Exception as err:
        reason = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
        where = ("the hub is offline (HF_HUB_OFFLINE=1) and it is not in the local cache"
                 if hub_offline() else "it could not be downloaded or read")
        raise HubError(
            f"could not load {name!r} ({s.repo_id}): {where}. Either connect to the internet "
            f"(and unset HF_HUB_OFFLINE), download it once with `hf download {s.repo_id}`, or run "
            f"the tiny profile: mmcourse.setup('tiny'). [{type(err).__name__}: {reason[:200]}]"
        ) from None
    if s.quantization is None and hasattr(model, "to"):
        model = model.to(cfg.device)
    if hasattr(model, "eval"):
        model.eval()
    return model
