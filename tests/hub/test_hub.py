"""The hub registry; tiny stand-ins are the real library classes; the full-profile
loading code runs offline against a checkpoint saved from a tiny config."""

import dataclasses

import diffusers
import pytest
import torch
import transformers

from mmcourse import hub
from mmcourse.runtime import RunConfig


def _full(dtype=torch.float32):
    return RunConfig(profile="full", device="cpu", dtype=dtype, seed=0, threads=1)


def test_registry_has_the_facts_picks_with_sizes_and_licences():
    for name in ["clip-b16", "clip-b32", "siglip-b16", "llava-onevision-0.5b", "smolvlm-256m",
                 "blip-caption-base", "vilt-vqa", "whisper-base", "whisper-tiny", "clap-htsat-unfused",
                 "videomae-kinetics", "xclip-b32", "amused-vq", "sd-turbo", "tiny-sd", "ddpm-cifar10"]:
        s = hub.spec(name)
        assert "/" in s.repo_id and s.licence and s.params_m > 0 and s.min_gpu_gb > s.load_gb
    assert hub.spec("clip-b16").fp16_gb == 0.3  # 150M x 2 bytes
    assert hub.spec("llava-1.5-7b").load_gb == 4.0 and hub.spec("llava-1.5-7b").fp16_gb == 14.12
    assert hub.spec("videomae-kinetics").licence == "CC-BY-NC-4.0"
    assert "llava-interleave" not in " ".join(s.repo_id for s in hub.REGISTRY.values())  # research-only licence


def test_table_rows(capsys):
    rows = hub.table(display=False)
    assert len(rows) == len(hub.REGISTRY) and {"repo id", "licence", "min GPU GB", "fits a T4"} <= set(rows[0])
    assert [r["name"] for r in hub.table("02", display=False)] == ["clip-b16", "clip-b32", "siglip-b16"]
    with pytest.raises(ValueError, match="chapter must be one of .*got str '99'"):
        hub.table("99", display=False)


def test_unknown_name_lists_known_names(cfg):
    with pytest.raises(ValueError, match="name must be one of \\['clip-b16'.*got str 'no-such-model'"):
        hub.load("no-such-model", cfg)
    with pytest.raises(TypeError, match="cfg must be a mmcourse.RunConfig.*the RunConfig of mmcourse.setup"):
        hub.load("clip-b32", "tiny")


@pytest.mark.parametrize("name", [n for n, s in hub.REGISTRY.items() if s.tiny is not None])
def test_tiny_profile_builds_the_same_library_class(name, cfg, capsys):
    s = hub.spec(name)
    model = hub.load(name, cfg)
    assert "[tiny profile] built" in capsys.readouterr().out
    if s.cls.startswith("Auto") and s.library == "diffusers":  # the auto class maps to this pipeline
        assert type(getattr(diffusers, s.cls).from_pipe(model)) is type(model)
    elif s.cls.startswith("Auto"):
        auto = getattr(transformers, s.cls)
        assert type(auto.from_config(model.config)) is type(model)
    else:
        assert type(model).__name__ == s.cls
    module = model if isinstance(model, torch.nn.Module) else model.unet
    assert sum(p.numel() for p in module.parameters()) < 500_000


def test_tiny_stand_ins_run_forward(cfg):
    clip = hub.load("clip-b32", cfg)
    image = clip.get_image_features(pixel_values=torch.rand(2, 3, 224, 224))
    text = clip.get_text_features(input_ids=torch.tensor([[1, 5, 6, 3], [1, 7, 3, 0]]))
    assert image.pooler_output.shape == text.pooler_output.shape == (2, 16)
    whisper = hub.load("whisper-tiny", cfg)
    out = whisper(input_features=torch.randn(1, 80, 100), decoder_input_ids=torch.tensor([[1, 5]]))
    assert out.logits.shape == (1, 2, 1000)
    vq = hub.load("amused-vq", cfg)
    assert vq.decode(vq.encode(torch.rand(1, 3, 16, 16)).latents).sample.shape == (1, 3, 16, 16)
    ddpm = hub.load("ddpm-cifar10", cfg)
    ddpm.set_progress_bar_config(disable=True)
    images = ddpm(batch_size=1, num_inference_steps=2, output_type="np").images
    assert images.shape == (1, 16, 16, 3)


def test_models_without_a_tiny_stand_in_say_so(cfg, monkeypatch):
    monkeypatch.setitem(hub.REGISTRY, "janus-pro-1b", dataclasses.replace(hub.spec("janus-pro-1b"), tiny=None))
    with pytest.raises(hub.HubError, match="no tiny stand-in yet"):
        hub.load("janus-pro-1b", cfg)


def test_janus_stand_in_reads_and_draws(cfg):
    from mmcourse.hub.processors import build as build_processor

    model, processor = hub.load("janus-pro-1b", cfg), build_processor("janus-pro-1b")
    messages = [{"role": "user", "content": [{"type": "image", "image": torch.rand(3, 32, 32)},
                                             {"type": "text", "text": "what is in the picture?"}]}]
    inputs = processor.apply_chat_template(messages, add_generation_prompt=True, tokenize=True, return_dict=True,
                                           return_tensors="pt")
    assert (inputs["input_ids"] == model.config.image_token_id).sum() == 16, "16 placeholders for the image"
    out = model.generate(**inputs, max_new_tokens=3, do_sample=False, generation_mode="text")
    assert out.shape[1] == inputs["input_ids"].shape[1] + 3, "text mode continues the prompt"
    prompt = processor.apply_chat_template([{"role": "user", "content": "a red apple"}], add_generation_prompt=True)
    codes = model.generate(**processor(text=[prompt], generation_mode="image", return_tensors="pt"),
                           generation_mode="image", do_sample=True, guidance_scale=5.0)
    assert codes.shape == (1, 16), f"image mode samples num_image_tokens codes; got {tuple(codes.shape)}"
    assert model.decode_image_tokens(codes).shape[-1] == 3, "decoded images are channels-last RGB"


def test_full_profile_loads_through_from_pretrained(tmp_path, monkeypatch):
    """The real full-profile code path, offline: a tiny CLIP saved to disk stands in for the hub."""
    hub.build_tiny("clip-b32", verbose=False).save_pretrained(tmp_path / "clip")
    spec = dataclasses.replace(hub.spec("clip-b32"), repo_id=str(tmp_path / "clip"))
    monkeypatch.setitem(hub.REGISTRY, "clip-b32", spec)
    model = hub.load("clip-b32", _full(torch.bfloat16))
    assert isinstance(model, transformers.CLIPModel) and not model.training
    assert next(model.parameters()).dtype == torch.bfloat16


def test_full_profile_offline_gives_a_short_clear_error(monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    with pytest.raises(hub.HubError) as info:
        hub.load("clip-b32", _full())
    msg = str(info.value)
    assert "could not load 'clip-b32' (openai/clip-vit-base-patch32)" in msg
    assert "offline" in msg and "mmcourse.setup('tiny')" in msg and len(msg) < 700
    assert info.value.__suppress_context__  # no chained library traceback
    assert info.value._render_traceback_() == [f"HubError: {msg}"]


def test_four_bit_models_need_cuda():
    with pytest.raises(hub.HubError, match="needs a CUDA GPU"):
        hub.load("llava-1.5-7b", _full())


def test_tiny_qwen2_5_vl_generates_from_an_image(cfg):
    """Qwen2.5-VL's processor needs torchvision, so feed the class by hand: 14 px patches of
    2 frames (3 x 2 x 14 x 14 = 1176 values each) on a 4 x 4 grid, merged 2 x 2 into 4 image tokens."""
    model = hub.load("qwen2.5-vl-3b", cfg).eval()
    c = model.config
    ids = torch.tensor([[1, c.vision_start_token_id] + [c.image_token_id] * 4 + [c.vision_end_token_id, 5, 6]])
    pixels = torch.randn(16, 3 * 2 * 14 * 14)
    out = model.generate(input_ids=ids, attention_mask=torch.ones_like(ids), pixel_values=pixels,
                         image_grid_thw=torch.tensor([[1, 4, 4]]), max_new_tokens=3, min_new_tokens=3, do_sample=False)
    assert out.shape == (1, ids.shape[1] + 3), f"the prompt and 3 new tokens; got {tuple(out.shape)}"
