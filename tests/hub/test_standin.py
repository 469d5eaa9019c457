"""The stand-in hub: real repo ids resolve offline to tiny checkpoints of the same class with
working processors; a stand-in run fails on a broken processor call; the smoke run's dry
run; and the clear errors of the full profile (no GPU, repo missing from the stand-in hub,
an incomplete stand-in environment)."""

import json
import os
import subprocess
import sys

import pytest
import torch
import transformers

from mmcourse import hub, runtime
from mmcourse.data import real
from mmcourse.hub import standin
from tests.helpers import ROOT, write_notebook

NAMES = ["clip-b32", "vit-b16", "blip-caption-base", "instructblip-flan-t5-xl", "ddpm-cifar10",
         "llava-1.5-7b", "llava-onevision-0.5b"]


@pytest.fixture(scope="module")
def hub_dir(tmp_path_factory):
    folder = tmp_path_factory.mktemp("standin") / "hub"
    standin.write(folder, NAMES)
    return folder


def test_layout_is_a_hugging_face_cache(hub_dir):
    held = standin.available(hub_dir)
    assert held["openai/clip-vit-base-patch32"] == "model + processor", held
    assert held["google/ddpm-cifar10-32"] == "pipeline", held
    assert "needs torchvision" in held["llava-hf/llava-onevision-qwen2-0.5b-ov-hf"], held
    snapshot = standin.snapshot_dir(hub_dir, "openai/clip-vit-base-patch32")
    assert (snapshot.parents[1] / "refs" / "main").read_text() == snapshot.name
    assert {"config.json", "model.safetensors", "tokenizer.json", "processor_config.json"} <= {
        p.name for p in snapshot.iterdir()}


def test_real_repo_ids_load_the_same_classes_offline(hub_dir):
    repo = hub.spec("clip-b32").repo_id
    model = transformers.CLIPModel.from_pretrained(repo, cache_dir=hub_dir, local_files_only=True)
    processor = transformers.CLIPProcessor.from_pretrained(repo, cache_dir=hub_dir, local_files_only=True)
    photos = real.photos(["chelsea", "coffee"])
    inputs = processor(text=["a photo of a cat", "a cup"], images=[p.image for p in photos], return_tensors="pt",
                       padding=True)
    assert tuple(inputs["pixel_values"].shape) == (2, 3, 224, 224), "CLIP's real preprocessing: 224 px"
    assert processor.decode(inputs["input_ids"][0], skip_special_tokens=True) == "a photo of a cat"
    with torch.no_grad():
        probs = model(**inputs).logits_per_image.softmax(-1)
    assert tuple(probs.shape) == (2, 2), f"image x text probabilities; got {tuple(probs.shape)}"
    blip = transformers.InstructBlipProcessor.from_pretrained(hub.spec("instructblip-flan-t5-xl").repo_id,
                                                              cache_dir=hub_dir, local_files_only=True)
    assert isinstance(blip.qformer_tokenizer, transformers.BertTokenizer), (
        "the Q-Former's own tokenizer loads from its subfolder, not the language model's")


@pytest.fixture(scope="module")
def video_audio_hub(tmp_path_factory):
    folder = tmp_path_factory.mktemp("standin04") / "hub"
    standin.write(folder, ["whisper-tiny", "xclip-b32", "videomae-kinetics"])
    return folder


def test_whisper_generates_with_language_and_task_and_xclip_reads_videos(video_audio_hub):
    from mmcourse._tools.fullrun import API_DRIFT, LIBRARY_OWN

    hub_dir = video_audio_hub
    assert set(standin.available(hub_dir).values()) == {"model + processor"}
    repo = hub.spec("whisper-tiny").repo_id
    processor = transformers.AutoProcessor.from_pretrained(repo, cache_dir=hub_dir, local_files_only=True)
    model = transformers.WhisperForConditionalGeneration.from_pretrained(repo, cache_dir=hub_dir, local_files_only=True)
    assert model.generation_config.lang_to_id == {"<|en|>": 4}, "the saved generation config survives loading"
    features = processor([torch.zeros(12000).numpy()], sampling_rate=16000, return_tensors="pt").input_features
    assert tuple(features.shape) == (1, 80, 100), "padded to the stand-in's 1 s window"
    ids = model.generate(features, language="en", task="transcribe", max_new_tokens=4)
    assert ids.shape[0] == 1, f"one transcript per input; got {tuple(ids.shape)}"
    assert [processor.tokenizer.convert_tokens_to_ids(t) for t in ("<|en|>", "<|transcribe|>", "<|notimestamps|>")] == [
        4, 5, 7], "the tokenizer and the generation config agree on Whisper's special-token ids"
    xrepo = hub.spec("xclip-b32").repo_id
    xproc = transformers.AutoProcessor.from_pretrained(xrepo, cache_dir=hub_dir, local_files_only=True)
    xclip = transformers.XCLIPModel.from_pretrained(xrepo, cache_dir=hub_dir, local_files_only=True)
    video = [torch.randint(0, 255, (32, 32, 3), dtype=torch.uint8).numpy()] * xclip.config.vision_config.num_frames
    inputs = xproc(text=["a", "b"], videos=[video], return_tensors="pt", padding=True)
    with torch.no_grad():
        assert tuple(xclip(**inputs).logits_per_video.shape) == (1, 2)
    own = ("[transformers] Passing `generation_config` together with generation-related arguments="
           "({'suppress_tokens', 'begin_suppress_tokens'}) is deprecated and will be removed in future versions.")
    assert API_DRIFT.search(own) and LIBRARY_OWN.search(own), "Whisper's own warning is known, not drift"
    assert not LIBRARY_OWN.search("`padding_side` will be ignored"), "real drift is still caught"
    diffusers_own = ("UserWarning: The `local_dir_use_symlinks` argument is deprecated and ignored in `hf_hub_download`. "
                     "Downloading to a local directory does not use symlinks anymore.")
    assert API_DRIFT.search(diffusers_own) and LIBRARY_OWN.search(diffusers_own), "diffusers' own call is known"
    janus_own = ("[transformers] Passing `generation_config` together with generation-related arguments="
                 "({'guidance_scale'}) is deprecated and will be removed in future versions.")
    assert API_DRIFT.search(janus_own) and LIBRARY_OWN.search(janus_own), "Janus's own text-mode call is known"
    assert not LIBRARY_OWN.search(janus_own.replace("'guidance_scale'", "'temperature'")), "other arguments are drift"


def test_chat_template_round_trip(hub_dir):
    repo = hub.spec("llava-1.5-7b").repo_id
    processor = transformers.AutoProcessor.from_pretrained(repo, cache_dir=hub_dir, local_files_only=True)
    messages = [{"role": "user", "content": [{"type": "image"}, {"type": "text", "text": "what is it?"}]}]
    prompt = processor.apply_chat_template(messages, add_generation_prompt=True)
    assert prompt == "USER: <image>\nwhat is it? ASSISTANT:", prompt


def test_write_refuses_to_empty_a_folder_that_is_not_a_standin_hub(tmp_path):
    (tmp_path / "notes.txt").write_text("mine")
    with pytest.raises(ValueError, match="exists and is not a stand-in hub; refusing to empty it"):
        standin.write(tmp_path, ["clip-b32"])
    with pytest.raises(ValueError, match=r"names=\['clip-b99'\] are not in the hub registry"):
        standin.write(tmp_path / "new", ["clip-b99"])


def _in_standin_run(hub_dir, code: str) -> subprocess.CompletedProcess:
    env = {**os.environ, **standin.environment(hub_dir)}
    return subprocess.run([sys.executable, "-c", code], env=env, cwd=ROOT, capture_output=True, text=True,
                          timeout=300)


def test_setup_knows_a_standin_run_and_hub_load_names_what_is_missing(hub_dir):
    code = ("import mmcourse, json\nfrom mmcourse import hub\ncfg = mmcourse.setup('full', verbose=False)\n"
            "print(json.dumps([cfg.standin, cfg.device, str(cfg.dtype)]))\n"
            "print(type(hub.load('clip-b32', cfg)).__name__)\n"
            "try:\n    hub.load('whisper-tiny', cfg)\nexcept hub.HubError as err:\n    print(err)\n")
    done = _in_standin_run(hub_dir, code)
    assert done.returncode == 0, done.stderr[-2000:]
    lines = done.stdout.strip().splitlines()
    assert json.loads(lines[0]) == [True, "cpu", "torch.bfloat16"], lines[0]
    assert lines[1] == "CLIPModel", lines[1]
    assert "'whisper-tiny' (openai/whisper-tiny) is not in the stand-in hub" in lines[2], lines[2]
    assert "it holds: " in lines[2] and "openai/clip-vit-base-patch32" in lines[2], lines[2]


def test_full_profile_without_a_gpu_is_a_clear_error(monkeypatch):
    monkeypatch.delenv(runtime.STANDIN_ENV, raising=False)
    monkeypatch.delenv("MMCOURSE_PROFILE", raising=False)
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    monkeypatch.setattr(torch.backends.mps, "is_available", lambda: False)
    with pytest.raises(ValueError) as info:
        runtime.setup("full", verbose=False)
    msg = str(info.value)
    assert "needs a GPU, but torch sees no CUDA or MPS device" in msg, msg
    assert "mmcourse.setup('tiny')" in msg and "device='cpu'" in msg, msg
    assert runtime.setup("full", device="cpu", verbose=False).device == "cpu", "an explicit CPU run is allowed"


def test_an_incomplete_standin_environment_says_what_is_missing(hub_dir, monkeypatch):
    monkeypatch.setenv("MMCOURSE_PROFILE", "full")
    monkeypatch.setenv(runtime.STANDIN_ENV, str(hub_dir))
    monkeypatch.delenv("HF_HUB_OFFLINE", raising=False)
    with pytest.raises(ValueError, match="a stand-in run needs HF_HUB_OFFLINE=1 and HF_HUB_CACHE="):
        runtime.setup("full", verbose=False)
    monkeypatch.setenv(runtime.STANDIN_ENV, str(hub_dir.parent))
    with pytest.raises(ValueError, match="is not a stand-in hub .no STANDIN.json.; write one"):
        runtime.setup("full", verbose=False)


GOOD_CALL = """
import mmcourse, torch, transformers
from mmcourse import hub
from mmcourse.data import real
cfg = mmcourse.setup("full")
if cfg.is_full:
    model = hub.load("clip-b32", cfg)
    processor = transformers.CLIPProcessor.from_pretrained(hub.spec("clip-b32").repo_id)
    photos = real.photos(["chelsea", "coffee"])
    inputs = processor(text=["a cat", "a cup"], images=[p.image for p in photos], return_tensors="pt", {kwarg})
    print(model(**inputs.to(cfg.device)).logits_per_image.shape)
"""


@pytest.mark.parametrize("kwarg, why", [
    ("padding=True", ""),
    ('padding="max_lenght"', "ValueError: max_lenght is not a valid PaddingStrategy"),
    ("paddding=True", "Keyword argument `paddding` is not a valid argument for this processor and will be ignored"),
])
def test_a_broken_processor_call_fails_the_standin_run(tmp_path, kwarg, why):
    """A wrong processor argument fails ``make test-full``: a misspelt value raises, and a
    misspelt name (which transformers ignores with only a warning) is caught as API drift."""
    from mmcourse._tools import fullrun

    nb = write_notebook(tmp_path / "call.ipynb", ['PROFILE = "auto"', GOOD_CALL.replace("{kwarg}", kwarg)])
    code, rows = fullrun.run([nb], root=tmp_path, out_dir=tmp_path / "out", hub_names=["clip-b32"], timeout=120)
    (row,) = rows
    assert row["full_cells"] == row["full_cells_ran"] + (1 if "ValueError" in why else 0) == 1, row
    if not why:
        assert code == 0 and row["status"] == "ok", row
    else:
        assert code == 1, f"{kwarg} must fail the stand-in run: {row}"
        assert why in row["status"], row["status"]


def test_smoke_dry_run_against_the_standin_hub(hub_dir):
    code = ("import sys\nfrom mmcourse._tools import smoke\n"
            "sys.exit(smoke.main(['clip-b32', 'vit-b16', 'blip-caption-base', 'instructblip-flan-t5-xl', "
            "'llava-1.5-7b', 'ddpm-cifar10', 'whisper-tiny', 'cogvlm2-19b'], allow_cpu=True))\n")
    done = _in_standin_run(hub_dir, code)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-2000:]
    rows = {line.split("|")[1].strip(): line for line in done.stdout.splitlines() if line.startswith("| ")}
    for name in ["clip-b32", "vit-b16", "blip-caption-base", "instructblip-flan-t5-xl", "llava-1.5-7b", "ddpm-cifar10"]:
        assert rows[name].rstrip().endswith("| ok |"), rows[name]
        assert "/s" in rows[name], f"a throughput for {name}: {rows[name]}"
    assert "skipped: stand-in hub" in rows["whisper-tiny"], rows["whisper-tiny"]
    assert "skipped: ships only remote code" in rows["cogvlm2-19b"], rows["cogvlm2-19b"]


def test_smoke_needs_cuda_or_an_explicit_dry_run(monkeypatch, capsys):
    from mmcourse._tools import smoke

    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    assert smoke.main(["clip-b32"]) == 2
    assert "torch sees no CUDA GPU" in capsys.readouterr().out
