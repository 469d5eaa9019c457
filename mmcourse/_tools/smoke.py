"""``python -m mmcourse smoke``: load every registry model on a GPU, run one representative
call, and print what it cost.

For each entry: load it through :func:`mmcourse.hub.load` in the profile's dtype, run one
call of its kind (zero-shot on the shipped photos, a caption, a VQA answer, a chat reply, a
transcription, an image from a pipeline) once to warm up and once timed, then report load
seconds, peak GPU memory, throughput and whether that fits a 16 GB T4. ``--record`` writes
the measurements into ``mmcourse/hub/measured.json``, which ``hub.table()`` then shows in
place of the estimates.

Without CUDA it refuses, unless ``--cpu`` asks for a dry run (peak memory is then not
measured); ``make test-full`` dry-runs it against the stand-in hub.
"""

from __future__ import annotations

import gc
import json
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import torch

from .. import hub
from ..data import clips, real, sounds
from ..hub.registry import MEASURED, REMOTE_CODE, T4_GB
from ..runtime import RunConfig, setup

PHOTOS = ["chelsea", "astronaut", "coffee", "rocket", "flower"]
QUESTION = "What is in the picture? Answer briefly."
NEW_TOKENS = 20


@dataclass
class Result:
    name: str
    status: str = "ok"  # "ok", "skipped: why" or "error: what"
    load_s: float | None = None
    peak_gb: float | None = None
    throughput: float | None = None
    unit: str = ""

    @property
    def fits_t4(self) -> str:
        if self.peak_gb is None:
            return "—"
        return "yes" if self.peak_gb <= T4_GB else "no"


# -- one representative call per kind of model: returns (how many, unit) -----------------------
def _processor(spec: hub.ModelSpec) -> Any:
    from transformers import AutoProcessor

    return AutoProcessor.from_pretrained(spec.repo_id)


def _inputs(batch: Any, model: Any, cfg: RunConfig) -> Any:
    dtype = getattr(model, "dtype", cfg.dtype)
    return batch.to(cfg.device, dtype) if dtype.is_floating_point else batch.to(cfg.device)


def zero_shot(model: Any, spec: hub.ModelSpec, cfg: RunConfig) -> tuple[int, str]:
    photos = real.photos(PHOTOS)
    padding = "max_length" if "siglip" in spec.name else True  # SigLIP was trained on max-length padding
    batch = _processor(spec)(text=[f"a photo of {p.label}" for p in photos], images=[p.image for p in photos],
                             return_tensors="pt", padding=padding)
    probs = model(**_inputs(batch, model, cfg)).logits_per_image.softmax(-1)
    assert probs.shape == (len(photos), len(photos)), f"one row per photo; got {tuple(probs.shape)}"
    return len(photos), "images/s"


def classify(model: Any, spec: hub.ModelSpec, cfg: RunConfig) -> tuple[int, str]:
    photos = real.photos(PHOTOS)
    batch = _processor(spec)(images=[p.image for p in photos], return_tensors="pt")
    logits = model(**_inputs(batch, model, cfg)).logits
    assert logits.shape[0] == len(photos), f"one row per photo; got {tuple(logits.shape)}"
    return len(photos), "images/s"


def _generate(model: Any, processor: Any, batch: Any, cfg: RunConfig) -> tuple[int, str]:
    batch = _inputs(batch, model, cfg)
    out = model.generate(**batch, max_new_tokens=NEW_TOKENS, min_new_tokens=NEW_TOKENS, do_sample=False)
    prompt = batch.get("input_ids")
    echoed = prompt is not None and out.shape[1] > prompt.shape[1] and bool((out[:, :prompt.shape[1]] == prompt).all())
    new = out[:, prompt.shape[1]:] if echoed else out  # decoder-only models echo the prompt first
    text = processor.batch_decode(new, skip_special_tokens=True)
    assert len(text) == 1, f"one reply; got {len(text)}"
    return new.shape[1], "tokens/s"


def caption(model: Any, spec: hub.ModelSpec, cfg: RunConfig) -> tuple[int, str]:
    processor = _processor(spec)
    return _generate(model, processor, processor(images=real.photo("chelsea").image, return_tensors="pt"), cfg)


def answer(model: Any, spec: hub.ModelSpec, cfg: RunConfig) -> tuple[int, str]:
    """BLIP-2 / InstructBLIP: the image and a question in, a short answer out."""
    processor = _processor(spec)
    batch = processor(images=real.photo("chelsea").image, text=QUESTION, return_tensors="pt")
    return _generate(model, processor, batch, cfg)


def chat(model: Any, spec: hub.ModelSpec, cfg: RunConfig) -> tuple[int, str]:
    """Chat models: the processor's chat template with one image and one question."""
    processor = _processor(spec)
    messages = [{"role": "user", "content": [{"type": "image", "image": real.photo("chelsea").image},
                                             {"type": "text", "text": QUESTION}]}]
    batch = processor.apply_chat_template(messages, add_generation_prompt=True, tokenize=True, return_dict=True,
                                          return_tensors="pt")
    return _generate(model, processor, batch, cfg)


def vqa(model: Any, spec: hub.ModelSpec, cfg: RunConfig) -> tuple[int, str]:
    batch = _processor(spec)(real.photo("chelsea").image, "what is in the picture?", return_tensors="pt")
    label = model.config.id2label[int(model(**_inputs(batch, model, cfg)).logits.argmax(-1))]
    assert isinstance(label, str), f"an answer from the label set; got {label!r}"
    return 1, "images/s"


def transcribe(model: Any, spec: hub.ModelSpec, cfg: RunConfig) -> tuple[int, str]:
    processor = _processor(spec)
    wave = sounds.chirp(200.0, 2000.0, seconds=2.0).numpy()
    batch = processor(wave, sampling_rate=sounds.SAMPLE_RATE, return_tensors="pt")
    out = model.generate(**_inputs(batch, model, cfg), max_new_tokens=NEW_TOKENS)
    processor.batch_decode(out, skip_special_tokens=True)
    return out.shape[1], "tokens/s"


def audio_text(model: Any, spec: hub.ModelSpec, cfg: RunConfig) -> tuple[int, str]:
    processor = _processor(spec)
    waves = [sounds.tone(440.0, 2.0).numpy(), sounds.chirp(200.0, 2000.0, seconds=2.0).numpy()]
    batch = processor(text=["a pure tone", "a rising whistle"], audio=waves, sampling_rate=48000,
                      return_tensors="pt", padding=True)
    logits = model(**_inputs(batch, model, cfg)).logits_per_audio
    assert logits.shape == (2, 2), f"one row per clip; got {tuple(logits.shape)}"
    return 2, "clips/s"


def video(model: Any, spec: hub.ModelSpec, cfg: RunConfig) -> tuple[int, str]:
    frames = clips.skimage_gif()  # (24, 3, 25, 14) in [0, 1]
    n = model.config.num_frames if hasattr(model.config, "num_frames") else model.config.vision_config.num_frames
    index = torch.linspace(0, len(frames) - 1, n).round().long()
    clip = [f.permute(1, 2, 0).numpy() for f in frames[index]]
    processor = _processor(spec)
    if "xclip" in spec.name:
        batch = processor(text=["a person talking", "a rocket"], videos=[clip], return_tensors="pt", padding=True)
        out = model(**_inputs(batch, model, cfg)).logits_per_video
    else:
        out = model(**_inputs(processor(videos=[clip], return_tensors="pt"), model, cfg)).logits
    assert out.shape[0] == 1, f"one row for the clip; got {tuple(out.shape)}"
    return 1, "clips/s"


def vq_roundtrip(model: Any, spec: hub.ModelSpec, cfg: RunConfig) -> tuple[int, str]:
    import numpy as np

    image = real.photo("chelsea").image.resize((256, 256))
    x = torch.from_numpy(np.asarray(image, dtype=np.float32) / 127.5 - 1).permute(2, 0, 1)[None]
    x = x.to(cfg.device, model.dtype)
    out = model.decode(model.encode(x).latents).sample
    assert out.shape == x.shape, f"decode(encode(x)) keeps the shape; got {tuple(out.shape)}"
    return 1, "images/s"


def text_to_image(model: Any, spec: hub.ModelSpec, cfg: RunConfig) -> tuple[int, str]:
    model.set_progress_bar_config(disable=True)
    image = model("a photo of a cat", num_inference_steps=1, guidance_scale=0.0, output_type="np").images
    assert image.ndim == 4, f"a batch of images; got shape {image.shape}"
    return 1, "images/s"


def unconditional_image(model: Any, spec: hub.ModelSpec, cfg: RunConfig) -> tuple[int, str]:
    model.set_progress_bar_config(disable=True)
    # output_type="np" fails in bfloat16 (diffusers 0.42 DDPMPipeline calls .numpy() on a bf16 tensor)
    images = model(batch_size=1, num_inference_steps=50, output_type="pt").images
    assert images.ndim == 4, f"a batch of images; got shape {tuple(images.shape)}"
    return 1, "images/s"


#: registry class -> its representative call
CALLS: dict[str, Callable[[Any, hub.ModelSpec, RunConfig], tuple[int, str]]] = {
    "CLIPModel": zero_shot, "SiglipModel": zero_shot, "ViTForImageClassification": classify,
    "LlavaOnevisionForConditionalGeneration": chat, "LlavaForConditionalGeneration": chat,
    "AutoModelForImageTextToText": chat, "Qwen2_5_VLForConditionalGeneration": chat,
    "JanusForConditionalGeneration": chat, "BlipForConditionalGeneration": caption,
    "Blip2ForConditionalGeneration": answer, "InstructBlipForConditionalGeneration": answer,
    "ViltForQuestionAnswering": vqa, "WhisperForConditionalGeneration": transcribe, "ClapModel": audio_text,
    "VideoMAEForVideoClassification": video, "XCLIPModel": video, "VQModel": vq_roundtrip,
    "AutoPipelineForText2Image": text_to_image, "StableDiffusionPipeline": text_to_image,
    "DDPMPipeline": unconditional_image,
}


def _skip_reason(spec: hub.ModelSpec, cfg: RunConfig) -> str | None:
    if spec.library == REMOTE_CODE:
        return "ships only remote code"
    if cfg.standin:
        from ..hub import standin
        from ..runtime import standin_hub

        held = standin.available(standin_hub()).get(spec.repo_id, "")
        needs_processor = spec.library == "transformers"
        if not held.startswith(("model + processor" if needs_processor else "model", "pipeline")):
            return f"stand-in hub: {held or 'not written'}"
    return None


def measure(name: str, cfg: RunConfig) -> Result:
    """Load ``name``, warm up its call, time it once more."""
    spec = hub.spec(name)
    result = Result(name)
    skip = _skip_reason(spec, cfg)
    if skip:
        result.status = f"skipped: {skip}"
        return result
    cuda = cfg.device == "cuda"
    if cuda:
        torch.cuda.empty_cache()
        torch.cuda.reset_peak_memory_stats()
    try:
        start = time.perf_counter()
        model = hub.load(name, cfg)
        result.load_s = time.perf_counter() - start
        with torch.inference_mode():
            CALLS[spec.cls](model, spec, cfg)  # 1. warm up (CUDA kernels, caches)
            if cuda:
                torch.cuda.synchronize()
            start = time.perf_counter()
            count, result.unit = CALLS[spec.cls](model, spec, cfg)  # 2. timed
            if cuda:
                torch.cuda.synchronize()
        result.throughput = count / (time.perf_counter() - start)
        if cuda:
            result.peak_gb = torch.cuda.max_memory_allocated() / 1e9
    except Exception as err:  # report and go on with the next model
        result.status = f"error: {type(err).__name__}: {str(err).strip().splitlines()[0][:150] if str(err).strip() else ''}"
    finally:
        model = None
        gc.collect()
        if cuda:
            torch.cuda.empty_cache()
    return result


def table(results: list[Result], cfg: RunConfig) -> str:
    gpu = torch.cuda.get_device_name(0) if cfg.device == "cuda" else cfg.device
    dtype = str(cfg.dtype).replace("torch.", "")
    lines = [f"Smoke run on {gpu}, {dtype}{' (stand-in hub)' if cfg.standin else ''}", "",
             "| model | load s | peak GPU GB | throughput | fits a 16 GB T4 | status |", "|---|---:|---:|---:|---|---|"]
    for r in results:
        load = "—" if r.load_s is None else f"{r.load_s:.1f}"
        peak = "—" if r.peak_gb is None else f"{r.peak_gb:.2f}"
        speed = "—" if r.throughput is None else f"{r.throughput:.1f} {r.unit}"
        lines.append(f"| {r.name} | {load} | {peak} | {speed} | {r.fits_t4} | {r.status} |")
    return "\n".join(lines)


def record(results: list[Result], cfg: RunConfig) -> None:
    """Write measured peaks into mmcourse/hub/measured.json (only from a real GPU run)."""
    if cfg.device != "cuda" or cfg.standin:
        raise ValueError("--record needs a real GPU run (CUDA, not the stand-in hub)")
    done = hub.registry.measured()
    gpu = torch.cuda.get_device_name(0)
    for r in results:
        if r.status == "ok":
            done[r.name] = {"peak_gb": round(r.peak_gb, 2), "load_s": round(r.load_s, 1),
                            "throughput": round(r.throughput, 2), "unit": r.unit, "gpu": gpu}
    MEASURED.write_text(json.dumps(done, indent=2) + "\n")


def main(names: list[str] | None = None, *, record_results: bool = False, allow_cpu: bool = False) -> int:
    """Run the smoke test; exit 1 when a model that should run fails."""
    if not torch.cuda.is_available() and not allow_cpu:
        print("smoke: torch sees no CUDA GPU. Run it on a GPU machine (e.g. Colab with a T4), or pass --cpu "
              "for a dry run (against the stand-in hub: see make test-full).")
        return 2
    cfg = setup("full", device=None if torch.cuda.is_available() else "cpu")
    results = []
    for name in names or hub.names():
        print(f"smoke: {name} ...", flush=True)
        results.append(measure(name, cfg))
        print(f"  {results[-1].status}", flush=True)
    print("\n" + table(results, cfg))
    if record_results:
        record(results, cfg)
        print(f"\nrecorded in {MEASURED}")
    return 1 if any(r.status.startswith("error") for r in results) else 0
