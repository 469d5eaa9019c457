"""The zoo: every entry's stored probe reproduces, every entry behaves as the code that trained
its weights (replayed when its trigger changed), stored metrics re-score from the shipped
weights, and each entry assembles for use.

No entry is retrained here. What only a whole retraining (``make verify-zoo NAME=...``) checks:
that a full recipe run with another CPU's float kernels lands within the stored tolerances. The
replay compares two commits on one machine; the probe and the re-scoring check the shipped
weights, not a new run."""

import fnmatch
import json
import warnings

import pytest

from mmcourse import diffusion, prior, unconditional, unified, zoo
from mmcourse.zoo import probe, replay, trigger

NAMES = ["clap-sounds", "clip-shapes", "ddpm-latent-shapes", "ddpm-pixel-shapes", "ldm-shapes", "lm-shapes",
         "shapes-cnn", "unclip-shapes", "unified-shapes", "vae-shapes", "video-motion", "vlm-shapes", "vq-shapes",
         "whisper-digits", "whisper-digits-no-specaugment"]
#: Re-scoring these takes 10-30 s (hundreds of diffusion or autoregressive samples): left out of `make check`.
SLOW_TO_SCORE = {"unified-shapes", "ddpm-pixel-shapes", "unclip-shapes"}
#: ldm-shapes' 50 metrics take 4 minutes to re-score (its steps table samples 1,000 DDPM steps): its probe and
#: replay cover it here, and `python -m mmcourse zoo reproduce ldm-shapes` re-scores it.
NOT_RESCORED_IN_TESTS = {"ldm-shapes"}


def test_table_and_meta():
    rows = {r["name"]: r for r in zoo.table(display=False)}
    assert sorted(rows) == NAMES
    assert rows["vlm-shapes"]["chapter"] == "03" and "vqa_all=0.9" in rows["vlm-shapes"]["metrics"]
    for name in NAMES:
        meta, entry = zoo.meta(name), zoo.entry(name)
        assert {"config", "recipe", "metrics", "versions", "trained_at", "trigger"} <= set(meta), name
        assert len(meta["trained_at"]) == 40, f"{name}: trained_at must name a commit"
        untolerated = [k for k in meta["metrics"] if entry.tolerance_of(k) is None]
        assert not untolerated, f"{name}: metrics without a tolerance: {untolerated}"
        unused = [k for k in entry.tolerance if not any(fnmatch.fnmatchcase(m, k) for m in meta["metrics"])]
        assert not unused, f"{name}: tolerances that match no metric: {unused}"
        assert meta["recipe"] == json.loads(json.dumps(entry.recipe)), f"{name}: the recipe changed since training"
    with pytest.raises(ValueError, match="name must be one of \\['clap-sounds'.*got str 'nope'"):
        zoo.load("nope")


def test_stored_headline_metrics():
    metrics = {name: zoo.meta(name)["metrics"] for name in NAMES}
    assert metrics["shapes-cnn"]["test_accuracy"] >= 0.95
    assert metrics["clip-shapes"]["zero_shot_seen"] >= 0.99 and metrics["clip-shapes"]["zero_shot_holdout"] >= 0.9
    assert metrics["vlm-shapes"]["vqa_all"] >= 0.9  # >= 90% on questions about unseen images
    video = metrics["video-motion"]
    assert all(video[f"{task}_{a}"] >= 0.95 for task in ("direction", "order") for a in ("late", "joint", "divided"))
    assert video["direction_frame"] <= 0.35 and video["order_frame"] <= 0.6  # the single-frame model: near chance
    assert metrics["whisper-digits"]["heldout_voice_wer"] <= 0.10
    assert metrics["whisper-digits"]["heldout_voice_wer"] < metrics["whisper-digits-no-specaugment"]["heldout_voice_wer"]
    assert metrics["clap-sounds"]["zero_shot_seen"] >= 0.98
    assert metrics["clap-sounds"]["zero_shot_holdout"] >= 0.9  # issue 12: >= 90% on held-out combinations
    assert metrics["vae-shapes"]["recon_pair_accuracy"] >= 0.95  # reconstructions keep colour and shape readable
    ldm = metrics["ldm-shapes"]
    assert max(ldm[f"seen_pair_w{w}"] for w in (0, 1, 2, 4, 8)) >= 0.9  # issue 13: >= 90% at the best w
    assert max(ldm[f"unseen_pair_w{w}"] for w in (0, 1, 2, 4, 8)) >= 0.85  # never-seen pairs compose
    # issue 13: the same budget on pixels and latents; DALL-E 2's decoder through the prior
    assert metrics["ddpm-latent-shapes"]["frechet"] < metrics["ddpm-pixel-shapes"]["frechet"]
    unclip = metrics["unclip-shapes"]
    assert unclip["seen_prior_pair"] >= 0.9 and unclip["unseen_prior_pair"] >= 0.9
    assert unclip["seen_caption_pair"] < unclip["seen_prior_pair"] - 0.3  # the modality gap, seen in generation
    vq = metrics["vq-shapes"]
    assert vq["recon_pair_accuracy"] >= 0.95  # issue 14: 64 codes keep colour and shape readable
    assert vq["dead_codes"] < vq["no_restart_dead_codes"] and vq["perplexity"] > vq["no_restart_perplexity"]
    gpt = metrics["unified-shapes"]  # issue 14's targets, on held-out prompts and scenes
    assert gpt["draw_seen_pair_w0"] >= 0.8  # drawn images show the requested colour and shape
    assert gpt["caption_exact_seen"] >= 0.9  # captions name exactly the object
    assert gpt["vqa_all_seen"] >= 0.85


@pytest.mark.parametrize("name", NAMES)
def test_checkpoints_and_probes_are_small(name):
    assert (zoo.ZOO_DIR / name / "model.safetensors").stat().st_size <= zoo.MAX_BYTES
    assert probe.path(name).stat().st_size <= 256 * 2**10, f"{name}: keep the probe under 256 kB"


@pytest.mark.parametrize("name", NAMES)
def test_shipped_model_reproduces_its_stored_probe(name):
    """The shipped weights, fed the stored inputs, compute the stored outputs (another CPU's floats aside)."""
    problems = probe.check(name, zoo.load(name))
    assert not problems, (f"zoo entry {name!r} no longer computes what its weights computed when its probe was "
                          f"stored:\n  " + "\n  ".join(problems) + "\nA change to the model's code, its config or a "
                          f"library changed its behaviour; `make verify-zoo NAME={name}` retrains and checks it.")


@pytest.mark.parametrize("name", NAMES)
def test_entry_behaves_as_when_trained(name):
    """When anything the recipe reads changed (the trigger), replay it at `trained_at` and now: equal or fail."""
    if not zoo.needs_replay(name):
        return
    commit = zoo.meta(name)["trained_at"]
    try:
        verdict = replay.probe([name], commits={name: commit}, progress=False)[0]
    except replay.ReplayUnavailable as err:
        pytest.fail(f"{name}: what its recipe reads changed since {commit[:10]}, and the replay that decides "
                    f"whether that matters cannot run here ({err}); run `python -m mmcourse zoo probe {name}` in a "
                    "full clone")
    assert verdict.equal, (f"zoo entry {name!r} trains differently from the code that made its weights "
                           f"({commit[:10]}): {verdict.difference}. If that is intended, `make verify-zoo NAME={name}`"
                           " retrains it and checks its stored metrics reproduce; commit the result.")
    warnings.warn(f"{name}: the code changed but trains exactly as before; `python -m mmcourse zoo probe {name}` "
                  "records that (seconds)", stacklevel=1)


@pytest.mark.parametrize("name", [pytest.param(n, marks=pytest.mark.heavy) if n in SLOW_TO_SCORE else n
                                  for n in NAMES if n not in NOT_RESCORED_IN_TESTS])
def test_shipped_weights_reproduce_their_stored_metrics(name):
    metrics, missed = zoo.reproduce(name)
    assert metrics, f"{name}: its evaluator scored nothing"
    assert not missed, f"{name}: the shipped weights re-scored now miss their stored metrics:\n  " + "\n  ".join(missed)


def test_pipelines_assemble_each_model_with_its_parts():
    ldm = zoo.pipeline("ldm-shapes")
    assert isinstance(ldm, diffusion.TextToImage) and ldm.schedule.timesteps == 1000
    assert ldm.generate(["a red circle"], steps=2, guidance=0.0).shape == (1, 3, 32, 32)
    gpt = zoo.pipeline("unified-shapes")
    assert isinstance(gpt, unified.UnifiedGPT) and len(gpt.vocab) == gpt.model.config.vocab_size
    assert isinstance(zoo.pipeline("ddpm-latent-shapes"), unconditional.UnconditionalDiffusion)
    assert zoo.pipeline("ddpm-pixel-shapes").vae is None
    assert isinstance(zoo.pipeline("unclip-shapes"), prior.UnCLIPDecoder)
    assert type(zoo.pipeline("clip-shapes")) is type(zoo.load("clip-shapes"))


# -- the trigger ---------------------------------------------------------------------------
def _statements(src):
    return sorted(trigger.normalised_statements(src))


def test_the_trigger_ignores_what_cannot_change_a_number_but_not_code():
    base = 'def f(x):\n    """Doc."""\n    if x < 0:\n        raise ValueError("bad x")\n    return x + 1\n'
    assert _statements(base) == _statements(base.replace("bad x", "x must be >= 0").replace("Doc.", "Other doc."))
    assert _statements(base) == _statements(base.replace("    if x < 0:\n        raise ValueError(\"bad x\")\n", ""))
    assert _statements(base) != _statements(base.replace("x + 1", "x + 2"))
    guarded = 'def f(x):\n    if x < 0:\n        x = 0\n    return x + 1\n'
    assert _statements(guarded) != _statements(guarded.replace("    if x < 0:\n        x = 0\n", ""))
    entry = 'register(ZooEntry(name="a", description="one", tolerance={"m": 0.1}, recipe={"steps": 5}))\n'
    assert _statements(entry) == _statements(entry.replace("one", "another").replace("0.1", "0.2"))
    assert _statements(entry) != _statements(entry.replace('"steps": 5', '"steps": 6'))
    two = 'def f():\n    return 1\n\n\ndef g():\n    return 2\n'
    assert _statements(two) == _statements('def g():\n    return 2\n\n\ndef f():\n    return 1\n')  # moved


def test_the_trigger_reads_data_files_versions_and_used_weights():
    what = trigger.inputs("whisper-digits")
    assert "data/spoken_digits.npz" in what["data"] and "mmcourse.train" in what["modules"]
    assert {"torch", "transformers"} <= set(what["versions"])
    assert "mmcourse.contracts" not in what["modules"]
    assert zoo.entry("vlm-shapes").uses == ("clip-shapes", "lm-shapes")


# -- the replay ----------------------------------------------------------------------------
def _trace(**changes):
    steps = [{"step": k, "optimizer": 0, "loss": ["0x1.0p+0"], "batch": "b", "params": f"p{k}", "lr": "0x1.0p-10",
              "rng": "r"} for k in (1, 2, 3)]
    trace = {"steps": steps, "metrics": {"acc": "0x1.8p-1"}, "model": "m"}
    for key, value in changes.items():
        step, field = key.split("_", 1)
        trace["steps"][int(step[1:]) - 1][field] = value
    return trace


def test_replay_names_the_first_step_and_what_differs():
    assert replay.compare(_trace(), _trace()) == ""
    assert replay.compare(_trace(), _trace(s2_params="other", s3_loss=["0x1.8p+0"])) == "step 2: params differ"
    assert "loss 1 then, 1.5 now" in replay.compare(_trace(), _trace(s1_loss=["0x1.8p+0"]))
    assert replay.compare(_trace(), _trace(s3_lr="0x1.0p-11")).startswith("step 3: lr differ")
    shorter = _trace()
    shorter["steps"] = shorter["steps"][:2]
    assert "3 optimiser steps then, 2 now" in replay.compare(_trace(), shorter)
    other = _trace()
    other["metrics"] = {"acc": "0x1.0p-1"}
    assert replay.compare(_trace(), other) == "the metrics after training: acc differ"


def test_replay_overrides_shrink_a_recipe_and_refuse_unknown_paths():
    from mmcourse.zoo._replay_driver import apply_overrides

    recipe = {"train": {"steps": 100, "stages": [{"steps": 10}, {"steps": 20}]}}
    out = apply_overrides(recipe, {"train.steps": 5, "train.stages.1.steps": 2})
    assert out == {"train": {"steps": 5, "stages": [{"steps": 10}, {"steps": 2}]}} and recipe["train"]["steps"] == 100
    with pytest.raises(KeyError, match="train.step"):
        apply_overrides(recipe, {"train.step": 5})
    for name in NAMES:  # every entry's overrides fit its recipe
        apply_overrides(zoo.entry(name).recipe, zoo.entry(name).replay)


def test_save_writes_weights_probe_and_meta(tmp_path):
    model = zoo.load("shapes-cnn")
    folder = zoo.save("shapes-cnn", model, {"test_accuracy": 0.5}, seconds=1.0, directory=tmp_path)
    meta = json.loads((folder / "meta.json").read_text())
    assert meta["trigger"] == trigger.trigger("shapes-cnn") and len(meta["trained_at"]) in (40, len("unknown"))
    inputs, outputs = probe.read("shapes-cnn", tmp_path)
    assert set(inputs) == {"images"} and set(outputs) == {"logits"}
    assert (folder / "model.safetensors").stat().st_size <= zoo.MAX_BYTES


@pytest.mark.heavy  # three short training runs in subprocesses: ~10 s
def test_a_replay_agrees_with_itself_and_names_a_changed_learning_rate():
    entry = zoo.entry("shapes-cnn")
    first, second = replay.traces("shapes-cnn", [replay.ROOT, replay.ROOT])
    assert replay.compare(first, second) == "", "two replays of the same code must agree bit for bit"
    assert len(first["steps"]) == entry.replay["train.steps"] and first["metrics"]["test_accuracy"]
    faster = replay.trace("shapes-cnn", replay.ROOT, {**entry.replay, "train.lr": 2 * entry.recipe["train"]["lr"]})
    assert replay.compare(first, faster).startswith("step 1: params, lr differ (lr 0.003 then, 0.006 now)")
