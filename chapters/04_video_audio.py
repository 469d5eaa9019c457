# ---
# jupyter:
#   jupytext:
#     formats: ipynb,py:percent
#   kernelspec:
#     display_name: Python 3
#     language: python
#     name: python3
# ---

# %% [markdown]
# # Chapter 04 — Video and audio: time as a dimension, space-time attention, audio–text learning, speech recognition
#
# [![Open In Colab](https://colab.research.google.com/assets/colab-badge.svg)](https://colab.research.google.com/github/mmcourse/mmcourse/blob/main/chapters/04_video_audio.ipynb)
#
# A video is a stack of images and a sound is a signal in time: both add a *time* axis to
# what chapters 01–03 did. Time costs tokens (a clip of T frames is T images), and it
# carries meaning no single frame has (which way is the ball going?).
#
# **In this chapter you will**
# 1. measure that one frame cannot answer a temporal question, and a temporal model can;
# 2. build four ways to spend attention on video from one block, check TimeSformer's
#    divided attention against transformers, and measure what each costs as clips grow;
# 3. train a CLAP: chapter 02's contrastive recipe with an audio tower, naming sounds it never heard;
# 4. train transformers' `WhisperForConditionalGeneration` to transcribe spoken digits, score it
#    with word error rate on voices it never heard, and see what SpecAugment buys.

# %%
import subprocess
import sys

try:  # google.colab exists only on Colab
    import google.colab  # noqa: F401

    IN_COLAB = True
except ImportError:
    IN_COLAB = False
if IN_COLAB:
    subprocess.run([sys.executable, "-m", "pip", "install", "-q",
                    "mmcourse @ git+https://github.com/mmcourse/mmcourse"], check=True)

# %% tags=["parameters"]
PROFILE = "auto"
SEED = 0
VIDEO_STEPS = 300  # optimiser steps for each live video model (batch 64)
CLAP_STEPS = 250  # steps for the live CLAP (batch 64)
ASR_STEPS = 800  # steps for the live Whisper (batch 16)

# %%
import re
import time

import matplotlib.pyplot as plt
import numpy as np
import torch
import transformers
from IPython.display import Audio, display
from torch.nn.attention import SDPBackend, sdpa_kernel

import mmcourse
from mmcourse import asr, audiotext, data, hub, metrics, viz, zoo
from mmcourse.audio import log_mel_batch, spec_augment
from mmcourse.contrastive import contrastive_loss
from mmcourse.data.clips import skimage_gif
from mmcourse.data.motion import make_motion_clips
from mmcourse.data.sounds import espeak_available, speech
from mmcourse.data.sound_scenes import HOLDOUT_SOUNDS, SOUND_CLASSES, class_name, make_sound_captions
from mmcourse.data.spoken_digits import DIGITS, load_spoken_digits
from mmcourse.metrics.speech import edit_distance, word_error_rate
from mmcourse.models.video import ATTENTIONS, DividedBlock, VideoClassifier, VideoConfig, attention_flops
from mmcourse.train import fit

# %%
cfg = mmcourse.setup(PROFILE, seed=SEED)

# %% [markdown]
# ## 1. Why time matters, measured
#
# Two tasks on 8-frame clips, 16x16 pixels, that no single frame can answer:
#
# * **direction**: one shape drifts steadily left, right, up or down while it jumps about
#   across its drift. Both axes visit the same evenly spaced positions (along the drift in
#   order, across it shuffled), so the *set* of frames is equally likely under all four
#   labels: a left drift is a right drift played backwards, and a horizontal drift's frames,
#   shuffled, could be a vertical one's. Only the order tells (chance: 25%).
# * **order**: a red and a blue shape each flash for two frames; did red come first? Both
#   are on screen equally long (chance: 50%).

# %%
train_clips = make_motion_clips(3000, "order", seed=SEED)
test_clips = make_motion_clips(500, "order", seed=SEED + 1)
direction_clips = make_motion_clips(4, "direction", seed=SEED + 2)
frames = torch.cat([direction_clips.videos[:2], train_clips.videos[:2]]).flatten(0, 1)  # (4 * 8, 3, 16, 16)
titles = [f"{name} t={t}" for name in [direction_clips.label_names[int(i)] for i in direction_clips.labels[:2]]
          + [train_clips.label_names[int(i)] for i in train_clips.labels[:2]] for t in range(8)]
viz.image_grid(frames, titles, ncols=8, title="two 'direction' clips, then two 'order' clips");

# %% [markdown]
# A **single-frame model** encodes each frame on its own (transformer blocks within the
# frame) and averages the frames: whatever it computes, reversing the clip gives the same
# answer. A **temporal model** lets tokens of different frames attend to each other; the
# simplest one (`late`) runs a small transformer over the per-frame vectors. Same data,
# same steps, same blocks, on the order task:

# %%
def train_video(attention, clips, steps, desc):
    torch.manual_seed(SEED)
    model = VideoClassifier(VideoConfig(attention=attention, num_classes=len(clips.label_names), dim=48))
    history = fit(model, data.Batches(clips.videos, clips.labels, batch_size=64, seed=SEED), steps=steps, lr=2e-3,
                  warmup=20, schedule="cosine", cfg=cfg, desc=desc)
    model.cpu()
    return model, history


live = {a: train_video(a, train_clips, VIDEO_STEPS, a)[0] for a in ("frame", "late")}
live_acc = {a: metrics.accuracy(metrics.predict(m, test_clips.videos), test_clips.labels) for a, m in live.items()}
viz.table([{"model": a, "held-out 'order' accuracy": acc, "chance": 0.5} for a, acc in live_acc.items()]);
mmcourse.log_metric("live_frame_order", live_acc["frame"])
mmcourse.log_metric("live_late_order", live_acc["late"])
assert live_acc["frame"] <= 0.6, f"the single-frame model stays near chance (50%): {live_acc['frame']:.1%}"
assert live_acc["late"] >= 0.95, f"the temporal model learns the order in {VIDEO_STEPS} steps: {live_acc['late']:.1%}"

# %% [markdown]
# The zoo entry `video-motion` trained all four attention layouts of the next section on
# both tasks (1,800 steps for direction, the harder one, and 400 for order;
# `zoo.meta("video-motion")` has the recipe). Every temporal layout solves both; the
# single-frame model cannot:

# %%
suite = zoo.load("video-motion")
suite_rows = []
for task, n_classes in (("direction", 4), ("order", 2)):
    clips = make_motion_clips(1000, task, seed=SEED + 1)
    row = {"task": task, "chance": 1 / n_classes}
    for attention in ATTENTIONS:
        row[attention] = metrics.accuracy(metrics.predict(suite[f"{task}__{attention}"], clips.videos), clips.labels)
    suite_rows.append(row)
viz.table(suite_rows);
for row in suite_rows:
    mmcourse.log_metric(f"zoo_{row['task']}_divided", row["divided"])
    for attention in ("late", "joint", "divided"):
        assert row[attention] >= 0.95, f"{row['task']}: the temporal {attention} model reaches 95%: {row[attention]:.1%}"
    assert row["frame"] <= row["chance"] + 0.10, (
        f"{row['task']}: the single-frame model stays within 10 points of chance: {row['frame']:.1%}")

# %% [markdown]
# ## 2. Four ways to spend attention on video
#
# A clip of T frames, each cut into N patches, is T·N tokens. Who attends to whom decides
# what the model can see and what it costs per block:
#
# | layout | attends | query–key pairs |
# |---|---|---|
# | `frame` | within each frame; frames averaged at the end | T·N² |
# | `late` | within each frame, then a transformer over the T frame vectors | T·N² + T² |
# | `joint` | every token to every token (ViViT's model 1, Arnab et al. 2021) | (T·N)² |
# | `divided` | TimeSformer (Bertasius et al. 2021, §3): each patch to the same patch in the other frames, then to its own frame's patches | T·N·(T+N) |
#
# TimeSformer's divided block: time attention, then space attention, then the MLP, each
# with a LayerNorm before and a residual around it (their Fig. 1; §3 counts N+F+2
# comparisons per patch against NF+1 for joint attention). The reshapes are the whole trick:

# %%
viz.show_source(DividedBlock.forward);

# %% [markdown]
# **Checked against the library.** With the weights of a transformers `TimesformerLayer`
# copied in, our block gives the same output (TimeSformer orders tokens patch by patch
# and carries a CLS token, which skips time attention and averages its per-frame updates):

# %%
torch.manual_seed(SEED)
tf_config = transformers.TimesformerConfig(image_size=12, patch_size=4, num_frames=4, hidden_size=32,
                                           num_attention_heads=4, intermediate_size=128, layer_norm_eps=1e-5)
tf_layer = transformers.models.timesformer.modeling_timesformer.TimesformerLayer(tf_config, 0).eval()
ours = DividedBlock(32, 4, mlp_ratio=4.0).eval()
pairs = [(ours.temporal_attn.qkv, tf_layer.temporal_attention.attention.qkv),
         (ours.temporal_attn.proj, tf_layer.temporal_attention.output.dense), (ours.temporal_proj, tf_layer.temporal_dense),
         (ours.temporal_norm, tf_layer.temporal_layernorm), (ours.attn.qkv, tf_layer.attention.attention.qkv),
         (ours.attn.proj, tf_layer.attention.output.dense), (ours.ln1, tf_layer.layernorm_before),
         (ours.ln2, tf_layer.layernorm_after), (ours.mlp[0], tf_layer.intermediate.dense), (ours.mlp[3], tf_layer.output.dense)]
for mine, theirs in pairs:
    mine.load_state_dict(theirs.state_dict())
x, cls = torch.randn(2, 4, 9, 32), torch.randn(2, 1, 32)  # (batch, frames, patches, width)
with torch.no_grad():
    ref = tf_layer(torch.cat([cls, x.transpose(1, 2).flatten(1, 2)], 1))[0]
    out, out_cls, _ = ours(x, cls)
diff = (torch.cat([out_cls, out.transpose(1, 2).flatten(1, 2)], 1) - ref).abs().max().item()
print(f"max |difference| to transformers' TimesformerLayer: {diff:.1e}")
assert diff <= 1e-5, f"our divided block must equal TimesformerLayer; max difference {diff:.1e}"

# %% [markdown]
# The tokens come from a **tubelet embedding** (chapter 01): one 3-D convolution whose
# kernel and stride span t frames × P × P pixels. With t = 2 it is VideoMAE's patch
# embedding (Tong et al. 2022 use 2×16×16 tubelets), and halves the tokens. Same weights,
# same output as transformers' `VideoMAEModel`:

# %%
videomae = transformers.VideoMAEModel(transformers.VideoMAEConfig(
    image_size=16, patch_size=4, num_frames=8, tubelet_size=2, hidden_size=32, num_hidden_layers=1,
    num_attention_heads=4, intermediate_size=64)).eval()
tubelets = mmcourse.video.TubeletEmbed(patch_size=4, tubelet=2, dim=32)
tubelets.proj.load_state_dict(videomae.embeddings.patch_embeddings.projection.state_dict())
with torch.no_grad():
    clip_batch = test_clips.videos[:2]
    tube_diff = (tubelets(clip_batch) - videomae.embeddings.patch_embeddings(clip_batch)).abs().max().item()
print(f"tokens per clip: {tubelets(clip_batch).shape[1]} (8/2 x 4 x 4); max |difference|: {tube_diff:.1e}")
assert tube_diff <= 1e-6, f"the tubelet embedding must equal VideoMAE's; max difference {tube_diff:.1e}"

# %% [markdown]
# **What attention costs as clips grow.** For T = 4 … 32 frames of 16 patches, the table
# counts attention FLOPs per block (the Q·Kᵀ and weights·V products, 4·D per query–key
# pair) and measures one training step (forward and backward, batch 8, two blocks) and the
# activations autograd keeps for the backward pass (measured by hooking every saved tensor,
# with the plain attention kernel, which stores each softmax matrix).

# %%
def saved_megabytes(model, video):
    """Bytes autograd saves for backward, with the plain (math) attention kernel."""
    sizes = []

    def pack(t):
        sizes.append(t.numel() * t.element_size())
        return t

    with torch.autograd.graph.saved_tensors_hooks(pack, lambda t: t), sdpa_kernel(SDPBackend.MATH):
        model(video).sum().backward()
    return sum(sizes) / 2**20


# %%
cost_rows = []
for T in (4, 8, 16, 32):
    video = torch.rand(8, T, 3, 16, 16)
    for attention in ATTENTIONS:
        torch.manual_seed(SEED)
        model = VideoClassifier(VideoConfig(attention=attention, frames=T, dim=48))
        model(video).sum().backward()  # warm-up
        start = time.perf_counter()
        model(video).sum().backward()
        ms = 1000 * (time.perf_counter() - start)
        cost_rows.append({"frames": T, "attention": attention, "tokens": T * 16,
                          "attention MFLOPs": attention_flops(attention, T, 16, 48) / 1e6, "ms / step": ms,
                          "saved MB": saved_megabytes(model, video)})
viz.table([r for r in cost_rows if r["frames"] in (4, 32)]);

# %%
fig, axes = plt.subplots(1, 3, figsize=(13, 3.2))
for attention in ATTENTIONS:
    rows = [r for r in cost_rows if r["attention"] == attention]
    for ax, key in zip(axes, ("attention MFLOPs", "ms / step", "saved MB")):
        ax.plot([r["frames"] for r in rows], [r[key] for r in rows], "o-", label=attention)
        ax.set(xscale="log", yscale="log", xlabel="frames", title=key)
axes[0].legend()
fig.tight_layout();
cost = {(r["frames"], r["attention"]): r for r in cost_rows}
joint_growth = cost[32, "joint"]["saved MB"] / cost[4, "joint"]["saved MB"]
divided_growth = cost[32, "divided"]["saved MB"] / cost[4, "divided"]["saved MB"]
print(f"saved activations, 4 -> 32 frames: joint x{joint_growth:.0f}, divided x{divided_growth:.1f}")
flops_ratio = cost[32, "joint"]["attention MFLOPs"] / cost[32, "divided"]["attention MFLOPs"]
assert flops_ratio == 32 * 16 / (32 + 16), f"joint / divided FLOPs at 32 frames is T*N/(T+N) = 10.7: {flops_ratio:.2f}"
assert joint_growth > 3 * divided_growth, (
    f"joint attention's memory grows far faster with frames: x{joint_growth:.1f} vs x{divided_growth:.1f}")
assert cost[32, "joint"]["saved MB"] > 2 * cost[32, "divided"]["saved MB"], "at 32 frames joint keeps the most"

# %% [markdown]
# Joint attention's cost grows with the square of the frame count: 8× the frames is 64×
# the attention FLOPs, while divided attention grows by about 8 × (32+16)/(4+16) ≈ 19×. On a
# GPU with 224-pixel frames (196 patches) this is what stops joint attention: TimeSformer
# reports it running out of memory at 448 pixels or 32 frames (§4.1, Fig. 3). TimeSformer's
# Table 1 (Kinetics-400 / Something-Something-v2 top-1): space-only 76.9 / 36.6, joint
# 77.4 / 58.5, divided 78.0 / 59.5. Kinetics can mostly be recognised from single frames;
# Something-Something (which direction was the object pushed?) cannot, just like our clips.
#
# The memory column uses the plain attention kernel, which keeps every T·N × T·N softmax
# matrix for the backward pass. Fused kernels (FlashAttention, Dao et al. 2022, behind
# PyTorch's `scaled_dot_product_attention`, which our blocks call by default) recompute it
# instead, so their memory grows only linearly; the FLOPs, and the time, still grow with
# the square.
#
# ## 3. Audio–text contrastive learning (CLAP)
#
# CLAP (Wu et al. 2023, "Large-scale Contrastive Language-Audio Pretraining") is chapter 02's CLIP with the image tower replaced by
# an audio tower. Ours reads Whisper's log-mel features (chapter 01) with a small CNN,
# pools frequency and keeps a few stretches of time, so *when* a sound happens survives.
# Its text tower is simpler than chapter 02's, a bag of words; why is the last experiment
# of this section.
# The sounds have four attributes: pitch (low, high) × contour (steady, rising, falling) ×
# texture (pure, buzzing, hissing) × timing (start, middle, end) = 54 sounds. Three
# pitch–contour–texture combinations never occur in training at any timing; every word and
# every pair of words does.

# %%
sound_train = make_sound_captions(4000, "train", seed=SEED)
sound_seen = make_sound_captions(500, "train", seed=SEED + 2)
sound_held = make_sound_captions(500, "holdout", seed=SEED + 1)
mel_train = log_mel_batch(sound_train.waves)  # (4000, 80, 100)
print("held-out sounds:", "; ".join(" ".join(s) for s in HOLDOUT_SOUNDS))
fig, axes = plt.subplots(1, 4, figsize=(13, 2.6))
for ax, i in zip(axes, range(4)):
    ax.imshow(mel_train[i], origin="lower", aspect="auto", cmap="magma")
    ax.set_title(sound_train.captions[i], fontsize=8)
fig.tight_layout();
display(Audio(sound_train.waves[0].numpy(), rate=16000))

# %% [markdown]
# `CLAP` subclasses our `CLIP`, so chapter 02's `contrastive_loss` trains it unchanged:

# %%
torch.manual_seed(SEED)
clap = audiotext.sounds_clap(audiotext.sounds_tokenizer(sound_train.captions), text_tower="bag")
clap_history = fit(clap, audiotext.clap_batches(clap, sound_train.waves, sound_train.captions, seed=SEED),
                   loss_fn=contrastive_loss, steps=CLAP_STEPS, lr=2e-3, warmup=20, schedule="cosine", cfg=cfg,
                   desc="CLAP")
clap.cpu()
live_sound = audiotext.sound_metrics(clap, sound_seen, sound_held)
viz.plot_history(clap_history, title="audio-text contrastive loss");
print(f"live CLAP after {CLAP_STEPS} steps: seen sounds {live_sound['zero_shot_seen']:.1%}, "
      f"held-out sounds {live_sound['zero_shot_holdout']:.1%} (54-way, chance 1.9%)")
mmcourse.log_metric("live_clap_seen", live_sound["zero_shot_seen"])
assert clap_history.final_loss < clap_history.loss[0] / 2, "the contrastive loss at least halves"
assert live_sound["zero_shot_seen"] >= 0.8, f"the live CLAP names most seen sounds: {live_sound['zero_shot_seen']:.1%}"

# %% [markdown]
# The zoo's `clap-sounds` trained longer (800 steps of batch 128) on 16,000 clips. Zero-shot: write each of the 54
# sounds as a caption and pick the most similar; retrieval: Recall@K in both directions
# (any clip of the same sound counts as a hit).

# %%
clap_zoo = zoo.load("clap-sounds")
zoo_sound = audiotext.sound_metrics(clap_zoo, sound_seen, sound_held)
viz.table([{"model": name, **m} for name, m in (("live", live_sound), ("zoo", zoo_sound))]);
mmcourse.log_metric("zoo_clap_holdout", zoo_sound["zero_shot_holdout"])
assert zoo_sound["zero_shot_seen"] >= 0.98, f"the zoo CLAP names seen sounds: {zoo_sound['zero_shot_seen']:.1%}"
assert zoo_sound["zero_shot_holdout"] >= 0.9, f"the zoo CLAP names held-out sounds: {zoo_sound['zero_shot_holdout']:.1%}"
assert zoo_sound["a2t_R@5"] >= 0.95, f"audio -> text R@5: {zoo_sound['a2t_R@5']:.1%}"

# %% [markdown]
# Seen sounds are named without fail and held-out ones more than nine times in ten (54-way;
# chance 1.9%): the model names sounds it never heard, from words it heard in other
# company. Where does it fail? Count how many of the four attributes each wrong answer gets
# wrong:

# %%
with torch.no_grad():
    held_guess = (clap_zoo.encode_audio(log_mel_batch(sound_held.waves)) @ mmcourse.zeroshot.class_embeddings(
        clap_zoo, [class_name(s) for s in SOUND_CLASSES], ["{}"]).T).argmax(1)
wrong = [(SOUND_CLASSES[int(g)], SOUND_CLASSES[int(t)]) for g, t in zip(held_guess, sound_held.labels) if g != t]
off_by = [sum(a != b for a, b in zip(guess, truth)) for guess, truth in wrong]
print(f"{len(wrong)} wrong of {len(sound_held)}; attributes wrong per mistake: "
      + ", ".join(f"{k}: {off_by.count(k)}" for k in (1, 2, 3, 4)))
for (guess, truth), n in zip(wrong[:4], off_by):
    print(f"  heard {class_name(truth)!r} as {class_name(guess)!r} ({n} wrong)")
one_off = off_by.count(1) / len(off_by)
assert one_off >= 0.5, f"most mistakes get one attribute wrong, naming the nearest trained sound: {one_off:.0%}"

# %% [markdown]
# Most mistakes swap one attribute for a value the model *did* hear with the other two. For
# scale: LAION's best CLAP names 91.0% of the ESC-50 sound classes zero-shot (the authors'
# blog post; the LAION-AI/CLAP README warns that its released checkpoint scores higher
# because its training data overlaps ESC-50), while an audio transformer trained on ESC-50's
# labels reaches 95.6% (AST, Gong et al. 2021, YuanGongND/ast README).

# %% [markdown]
# **Why a bag of words?** Chapter 02's text tower reads a caption causally and sums it up at
# the end-of-text token, so it can learn "high falling" or "falling pure" as one unit; a
# held-out caption then lands near whichever trained sound shares its units. A bag of words
# can only add up its words (then an MLP), so a new combination is a new sum of known
# parts. The zoo recipe with each tower and three training seeds, held-out zero-shot
# accuracy (every run names all seen sounds; `benchmarks/clap_text_towers.py`, 9 minutes):
#
# | text tower | seed 0 | seed 1 | seed 2 |
# |---|---|---|---|
# | causal transformer, end token (chapter 02's) | 0.934 | 0.700 | 0.694 |
# | the same, averaged over the caption | 0.772 | 0.890 | 0.858 |
# | bag of words (the zoo's) | 0.946 | 0.964 | 0.932 |
#
# With the transformer, which held-out sounds it names depends on the seed; the bag is above
# 90% on every seed. The same bias cuts the other way when order carries meaning: "a red
# circle left of a blue square" is a bag of the same words as its swap, and large CLIPs that
# behave like bags of words fail exactly there (Yuksekgonul et al. 2023, the ARO benchmark;
# Winoground in chapter 07).

# %% [markdown]
# ## 4. Speech recognition with Whisper
#
# Whisper (Radford et al. 2022, §2.3, Fig. 1) is an encoder–decoder transformer. The
# encoder reads 80-channel log-mel features (chapter 01: 25 ms windows every 10 ms) through
# two convolutions, the second with stride 2, then transformer blocks; the decoder writes
# text tokens, cross-attending to the encoder. The decoder starts from special tokens that
# say what to do: `<|startoftranscript|> <|en|> <|transcribe|> <|notimestamps|>`, and the
# transcript ends with `<|endoftext|>`. Whisper pads every input to 30 s; we pad to 3 s.
#
# The data: 400 strings of 3–5 digit words spoken by espeak-ng in 10 voices, each with its
# own speed and pitch, and 120 more in **3 voices never heard in training**. They ship
# inside the package (5 MB, 8 kHz mu-law), so this runs without espeak-ng; the recipe is
# `python -m mmcourse.data.spoken_digits`.

# %%
speech_train, speech_held = load_spoken_digits("train"), load_spoken_digits("heldout")
print(f"train: {len(speech_train)} utterances in {len(set(speech_train.voices))} voices; "
      f"held-out: {len(speech_held)} in {sorted(set(speech_held.voices))}")
print(f"{speech_held.texts[0]!r} in voice {speech_held.voices[0]}:")
display(Audio(speech_held.waves[0].numpy(), rate=16000))
tokenizer = asr.WordTokenizer(DIGITS)
print([tokenizer.words[i] for i in tokenizer.encode(speech_held.texts[0])])

# %% [markdown]
# The model is transformers' `WhisperForConditionalGeneration`, built from a tiny config
# (`asr.tiny_whisper`). Training is teacher forcing: the decoder sees the right transcript
# shifted by one and predicts each next token (the prompt is given, not predicted).
# Decoding is greedy: encode once, then append the most likely token until `<|endoftext|>`:

# %%
viz.show_source(asr.transcribe);

# %% [markdown]
# **Word error rate** counts the fewest word substitutions, deletions and insertions that
# turn the transcript into the reference (Levenshtein distance, by dynamic programming),
# divided by the number of reference words, summed over the whole test set:

# %%
viz.show_source(edit_distance);
import jiwer  # noqa: E402  (the library twin, used only for this check)

refs, hyps = ["three one four", "one five nine two"], ["three four", "one five nine nine two six"]
print(f"WER ours {word_error_rate(refs, hyps):.4f}, jiwer {jiwer.wer(refs, hyps):.4f}")
assert word_error_rate(refs, hyps) == jiwer.wer(refs, hyps), "our WER equals jiwer's"

# %% [markdown]
# A short live run of a smaller model (one layer each side, width 48, no SpecAugment),
# with the held-out-voice WER measured every 200 steps:

# %%
held_feats = asr.speech_features(speech_held.waves)  # (120, 80, 300)
torch.manual_seed(SEED)
whisper = asr.tiny_whisper(tokenizer, d_model=48, layers=1)
batches = asr.SpeechBatches(speech_train.waves, speech_train.texts, tokenizer, batch_size=16, spec_augment=False,
                            seed=SEED)
asr_history = fit(whisper, batches, loss_fn=asr.asr_loss, steps=ASR_STEPS, lr=3e-3, warmup=50, schedule="cosine",
                  cfg=cfg, desc="Whisper", eval_every=200,
                  eval_fn=lambda m: {"wer": word_error_rate(speech_held.texts, asr.transcribe(m.cpu(), held_feats))})
whisper.cpu()
wers = [e["wer"] for e in asr_history.evals]
fig, axes = plt.subplots(1, 2, figsize=(10, 3))
axes[0].plot(asr_history.step, asr_history.loss, lw=0.5)
axes[0].set(xlabel="step", ylabel="loss", title="next-token loss")
axes[1].plot([e["step"] for e in asr_history.evals], wers, "o-")
axes[1].set(xlabel="step", ylabel="WER, held-out voices", ylim=(0, 1), title="live Whisper");
mmcourse.log_metric("live_wer", wers[-1])
assert wers[-1] <= wers[0] - 0.08, f"the held-out WER falls as the model trains: {[round(w, 3) for w in wers]}"

# %% [markdown]
# The loss drops fast at first: the decoder learns the prompt and that digit words follow
# it, which alone cannot transcribe anything (WER near 90%). Only then do its
# cross-attention layers start to find each word in the audio, and the WER starts to
# fall. That second phase is slow at this size; the zoo model below trained for 2,500
# steps.

# %% [markdown]
# The zoo's `whisper-digits` (d_model 80, two layers each side, 2,500 steps of batch 32,
# SpecAugment on) on the same voices:

# %%
whisper_zoo = zoo.load("whisper-digits")
zoo_hyps = asr.transcribe(whisper_zoo, held_feats)
zoo_wer = word_error_rate(speech_held.texts, zoo_hyps)
zoo_cer = metrics.speech.character_error_rate(speech_held.texts, zoo_hyps)
viz.table([{"voice": v, "reference": r, "transcript": h, "word edits": edit_distance(r.split(), h.split())}
           for v, r, h in list(zip(speech_held.voices, speech_held.texts, zoo_hyps))[:6]]);
print(f"held-out voices: WER {zoo_wer:.1%}, CER {zoo_cer:.1%} over {len(speech_held)} utterances")
mmcourse.log_metric("zoo_heldout_wer", zoo_wer)
assert zoo_wer <= 0.10, f"the zoo model's WER on voices it never heard is at most 10%: {zoo_wer:.1%}"

# %% [markdown]
# The average hides how much the voices differ. Per held-out voice:

# %%
per_voice = []
for voice in sorted(set(speech_held.voices)):
    rows = [i for i, v in enumerate(speech_held.voices) if v == voice]
    per_voice.append({"voice": voice, "utterances": len(rows), "WER": word_error_rate(
        [speech_held.texts[i] for i in rows], [zoo_hyps[i] for i in rows])})
viz.table(per_voice);
worst = max(r["WER"] for r in per_voice)
assert worst > zoo_wer, f"some held-out voice is harder than the average: worst {worst:.1%} vs {zoo_wer:.1%}"

# %% [markdown]
# ## 5. SpecAugment: augmentation that matters for audio
#
# SpecAugment (Park et al. 2019, §2) hides random bands of mel channels and random
# stretches of frames while training, so the model cannot lean on any one of them; their
# LibriSpeech policy masks up to F = 27 of 80 channels and T = 100 frames (Table 1). We
# use F = 10 and T = 30 (our clips are 3 s, not 15 s):

# %%
viz.show_source(spec_augment);
feats = held_feats[0]
fig, axes = plt.subplots(1, 2, figsize=(11, 2.6), sharey=True)
for ax, (title, f) in zip(axes, [("log-mel", feats), ("SpecAugment", spec_augment(feats, freq_mask=10, time_mask=30,
                                                                                    num_time_masks=2, seed=1))]):
    ax.imshow(f, origin="lower", aspect="auto", cmap="magma")
    ax.set_title(f"{title}: {speech_held.texts[0]!r}", fontsize=9)
fig.tight_layout();

# %% [markdown]
# Does it help here? The zoo holds the same recipe trained twice, with and without the
# masks (same steps, same seed, same speed perturbation):

# %%
plain = zoo.load("whisper-digits-no-specaugment")
augment_rows = [{"training": name, "held-out voices WER": asr.corpus_wer(model, speech_held),
                 "steps": zoo.meta(entry)["recipe"]["train"]["steps"]}
                for name, model, entry in (("with SpecAugment", whisper_zoo, "whisper-digits"),
                                           ("without", plain, "whisper-digits-no-specaugment"))]
viz.table(augment_rows);
with_masks, without = augment_rows[0]["held-out voices WER"], augment_rows[1]["held-out voices WER"]
mmcourse.log_metric("wer_without_specaugment", without)
assert with_masks < without, f"SpecAugment lowers the held-out-voice WER: {with_masks:.1%} vs {without:.1%}"

# %% [markdown]
# The masked model has to find each digit from whatever part of the spectrogram survives,
# not from one telltale band or moment, and that is what carries over to voices it never
# heard. One seed each, so read the size of the gain with care. With SpecAugment and no
# language model, Park et al. reached 6.8% WER on LibriSpeech test-other (abstract).

# %% [markdown]
# ## 6. The released models (full profile)
#
# With `PROFILE = "full"` on a GPU the same code runs released checkpoints. VideoMAE
# (Tong et al. 2022; ViT-B fine-tuned on Kinetics-400 reaches 81.5% top-1, their Table 7;
# these weights are CC BY-NC 4.0, **non-commercial**) labels scikit-image's animated GIF from
# 16 uniformly sampled frames; X-CLIP (microsoft/xclip-base-patch32, 8 frames) names the
# direction of our clips zero-shot, from captions it reads. Sizes, licences and GPU needs:

# %%
hub.table("04");

# %%
if cfg.is_full:
    videomae_processor = transformers.AutoImageProcessor.from_pretrained(hub.spec("videomae-kinetics").repo_id)
    videomae_hf = hub.load("videomae-kinetics", cfg)
    gif = skimage_gif()  # (24, 3, 25, 14) floats in [0, 1]
    picked = gif[mmcourse.video.sample_uniform(len(gif), videomae_hf.config.num_frames)]
    gif_frames = list((picked.permute(0, 2, 3, 1) * 255).round().to(torch.uint8).numpy())  # HWC uint8 frames
    pixels = videomae_processor([gif_frames], return_tensors="pt")["pixel_values"]  # (1, T, 3, H, W)
    with torch.no_grad():
        probs = videomae_hf(pixel_values=pixels.to(cfg.device, videomae_hf.dtype)).logits.float().softmax(-1)[0]
    top = probs.topk(3)
    print("VideoMAE on the GIF:", ", ".join(f"{videomae_hf.config.id2label[int(i)]} ({p:.0%})"
                                            for p, i in zip(top.values, top.indices)))
else:
    print("tiny profile: VideoMAE's Kinetics labels for the GIF need PROFILE='full' (a GPU and the hub)")

# %%
if cfg.is_full:
    xclip_processor = transformers.AutoProcessor.from_pretrained(hub.spec("xclip-b32").repo_id)
    xclip = hub.load("xclip-b32", cfg)
    xclips = make_motion_clips(16, "direction", frames=xclip.config.vision_config.num_frames, size=64, seed=SEED + 9)
    prompts = [f"a video of a shape moving {d}" for d in xclips.label_names]
    videos = [list((c.permute(0, 2, 3, 1) * 255).round().to(torch.uint8).numpy()) for c in xclips.videos]
    inputs = xclip_processor(text=prompts, videos=videos, return_tensors="pt", padding=True)
    inputs["pixel_values"] = inputs["pixel_values"].to(xclip.dtype)
    with torch.no_grad():
        logits = xclip(**{k: v.to(cfg.device) for k, v in inputs.items()}).logits_per_video  # (16 clips, 4 captions)
    xclip_acc = (logits.argmax(1).cpu() == xclips.labels).float().mean().item()
    print(f"X-CLIP zero-shot on {len(xclips)} direction clips: {xclip_acc:.0%} (chance 25%)")
else:
    print("tiny profile: X-CLIP zero-shot on the clips needs PROFILE='full'")

# %% [markdown]
# A video-language model can be *asked* instead. LLaVA-OneVision (chapter 03's
# `llava-onevision-0.5b`; Li et al. 2024, "LLaVA-OneVision: Easy Visual Task Transfer")
# reads a clip as frames: SigLIP encodes each one into 729 patch tokens and bilinear pooling
# keeps 196 of them a frame (the paper's "Visual Representations" section), so 8 frames are
# about 1.6k tokens in the language model, where one image costs up to 7,290 with anyres-9.
# The prompt carries a `<video>` placeholder that the processor expands to those tokens:

# %%
def ask_about_video(model, processor, clip, question, max_new_tokens=5):
    """One question about one clip, (T, 3, H, W) in [0, 1], sent as T uint8 video frames."""
    messages = [{"role": "user", "content": [{"type": "video"}, {"type": "text", "text": question}]}]
    prompt = processor.apply_chat_template(messages, add_generation_prompt=True)
    frames = (clip.permute(0, 2, 3, 1) * 255).round().to(torch.uint8).numpy()  # (T, H, W, 3)
    inputs = processor(text=prompt, videos=[frames], return_tensors="pt").to(cfg.device, model.dtype)
    out = model.generate(**inputs, max_new_tokens=max_new_tokens, do_sample=False)
    return processor.decode(out[0, inputs["input_ids"].shape[1]:], skip_special_tokens=True).strip()


# %%
if cfg.is_full:
    onevision = hub.load("llava-onevision-0.5b", cfg)
    if mmcourse.compat.video_processors_available():
        ov_processor = transformers.AutoProcessor.from_pretrained(hub.spec("llava-onevision-0.5b").repo_id)
        ov_clips = make_motion_clips(12, "direction", frames=8, size=64, seed=SEED + 10)
        question = "Which way does the shape move: left, right, up or down? Answer with one word."
        answers = [ask_about_video(onevision, ov_processor, clip, question) for clip in ov_clips.videos]
        right = [ov_clips.label_names[y] in a.lower() for a, y in zip(answers, ov_clips.labels.tolist())]
        print(f"LLaVA-OneVision on {len(right)} direction clips: {sum(right) / len(right):.0%} right (chance 25%); "
              f"e.g. {answers[0]!r} for {ov_clips.label_names[int(ov_clips.labels[0])]!r}")
    else:  # transformers 5 builds this processor (it bundles a video processor) only with torchvision
        print("llava-onevision's processor needs torchvision: pip install torchvision (Colab has it)")
else:
    print("tiny profile: a video question to LLaVA-OneVision needs PROFILE='full'")

# %% [markdown]
# LAION's CLAP (`laion/clap-htsat-unfused`: an HTSAT audio transformer and a RoBERTa text
# encoder trained on 630k audio–text pairs, Wu et al. 2023; 153M parameters, Apache-2.0)
# reads 48 kHz audio, three times our rate. Asked zero-shot about our sounds, from captions it
# reads: the 54-way question our CLAP answers, and one attribute at a time. It never heard
# sounds described this way, so read its scores as transfer, not as a rival to section 3:

# %%
from mmcourse.data.sound_scenes import CONTOURS, PITCHES, TEXTURES  # noqa: E402  (the attributes' names)


def attribute_questions(truth):
    """question -> (captions, index of the right caption per clip), for clips of sounds ``truth``."""
    return {"which of the 54 sounds": ([class_name(s) for s in SOUND_CLASSES], [SOUND_CLASSES.index(s) for s in truth]),
            "pitch": ([f"a {p} sound" for p in PITCHES], [list(PITCHES).index(s[0]) for s in truth]),
            "contour": ([f"a {c} sound" for c in CONTOURS], [CONTOURS.index(s[1]) for s in truth]),
            "texture": ([f"a {x} sound" for x in TEXTURES], [TEXTURES.index(s[2]) for s in truth])}


# %%
if cfg.is_full:
    clap_processor = transformers.AutoProcessor.from_pretrained(hub.spec("clap-htsat-unfused").repo_id)
    clap_hf = hub.load("clap-htsat-unfused", cfg)
    rate = clap_processor.feature_extractor.sampling_rate  # 48 kHz
    audio = [mmcourse.audio.resample(w, 16000, rate).numpy() for w in sound_seen.waves[:60]]
    clap_rows = []
    for question, (captions, answers) in attribute_questions([SOUND_CLASSES[int(i)] for i in sound_seen.labels[:60]]).items():
        inputs = clap_processor(text=captions, audio=audio, sampling_rate=rate, return_tensors="pt", padding=True)
        inputs["input_features"] = inputs["input_features"].to(clap_hf.dtype)
        with torch.no_grad():
            logits = clap_hf(**{k: v.to(cfg.device) for k, v in inputs.items()}).logits_per_audio  # (60 clips, captions)
        accuracy = (logits.float().argmax(1).cpu() == torch.tensor(answers)).float().mean().item()
        clap_rows.append({"question": question, "captions": len(captions), "accuracy": accuracy,
                          "chance": 1 / len(captions)})
    viz.table(clap_rows)
else:
    print("tiny profile: LAION's CLAP on our sounds needs PROFILE='full'")

# %% [markdown]
# Whisper itself (`openai/whisper-tiny`, 39M parameters; 7.6% WER on LibriSpeech test-clean
# with greedy decoding, the Whisper paper's Table 8) on our held-out voices. It writes digits
# as it likes ("3 1 4", "314", "three, one, four."), so before scoring, a small normaliser spells
# digits out and drops punctuation, as Whisper's own text normaliser does before every WER
# its authors report (openai/whisper, `whisper/normalizers/english.py`):

# %%
def spoken_digits_text(text):
    """'3, 14.' -> 'three one four': digits spelled out one by one, punctuation dropped."""
    return " ".join(DIGITS[int(t)] if t.isdigit() else t for t in re.findall(r"[a-z]+|\d", text.lower()))


if cfg.is_full:
    whisper_processor = transformers.AutoProcessor.from_pretrained(hub.spec("whisper-tiny").repo_id)
    whisper_hf = hub.load("whisper-tiny", cfg)
    sample = range(0, len(speech_held), 3)  # 40 utterances, every voice
    features = whisper_processor([speech_held.waves[i].numpy() for i in sample], sampling_rate=16000,
                                 return_tensors="pt").input_features  # padded to the model's window
    with torch.no_grad():
        ids = whisper_hf.generate(features.to(cfg.device, whisper_hf.dtype), language="en", task="transcribe",
                                  max_new_tokens=24)
    heard = [spoken_digits_text(t) for t in whisper_processor.batch_decode(ids, skip_special_tokens=True)]
    real_wer = word_error_rate([speech_held.texts[i] for i in sample], heard)
    print(f"whisper-tiny on {len(heard)} held-out utterances: WER {real_wer:.1%}; e.g. {heard[0]!r} "
          f"for {speech_held.texts[0]!r}")
else:
    print("tiny profile: the released Whisper needs PROFILE='full'; the zoo model above is its tiny twin")

# %% [markdown]
# Whatever X-CLIP scores, read it against section 1: a model pretrained on web video is
# asked about synthetic jittering shapes it has never seen, through captions it was never
# tuned on.
#
# %% [markdown]
# ## 7. Play with it
#
# Pick a clip: the frames, what each of the zoo's four models says, and how much
# attention each frame received in the temporal models. Pick a sound: its spectrogram and
# the captions the zoo CLAP ranks highest. Pick an utterance from a held-out voice, or
# (where espeak-ng is installed) type digit words for a new one: the zoo Whisper transcribes it.

# %%
demo_clips = make_motion_clips(50, "direction", seed=SEED + 5)
demo_sounds = make_sound_captions(50, "all", seed=SEED + 6)
class_emb = mmcourse.zeroshot.class_embeddings(clap_zoo, [class_name(s) for s in SOUND_CLASSES], ["{}"])


def draw_clip(fig, grid, clip):
    video = demo_clips.videos[clip : clip + 1]
    for t in range(8):
        ax = fig.add_subplot(grid[0, t])
        ax.imshow(video[0, t].permute(1, 2, 0))
        ax.set_title(f"t={t}", fontsize=8)
        ax.axis("off")
    ax = fig.add_subplot(grid[1, :4])
    with torch.no_grad():
        for attention in ("late", "divided"):
            ax.plot(range(8), suite[f"direction__{attention}"].frame_features(video)[1][0], "o-", label=attention)
        guesses = {a: demo_clips.label_names[int(suite[f"direction__{a}"](video).argmax())] for a in ATTENTIONS}
    ax.set_title(f"truth: {demo_clips.label_names[int(demo_clips.labels[clip])]}; "
                 + ", ".join(f"{a}: {g}" for a, g in guesses.items()), fontsize=8)
    ax.set(xlabel="frame", ylabel="attention received")
    ax.legend(fontsize=7)


# %%
def draw_sound(ax, sound):
    mel = log_mel_batch(demo_sounds.waves[sound : sound + 1])
    ax.imshow(mel[0], origin="lower", aspect="auto", cmap="magma")
    with torch.no_grad():
        top = (clap_zoo.encode_audio(mel) @ class_emb.T)[0].topk(3).indices
    ranked = " | ".join(class_name(SOUND_CLASSES[int(i)]) for i in top)
    ax.set_title(f"{demo_sounds.captions[sound]!r}\nCLAP: {ranked}", fontsize=8)


def draw_speech(ax, utterance, say):
    if say.strip() and espeak_available():
        wave, truth = speech(say, voice="en-gb-x-gbcwmd+f4"), say
    else:
        wave, truth = speech_held.waves[utterance], speech_held.texts[utterance]
    heard = asr.transcribe(whisper_zoo, asr.speech_features([wave]))[0]
    ax.plot(np.arange(len(wave)) / 16000, wave.numpy(), lw=0.5)
    ax.set(xlabel="seconds", title=f"said: {truth!r}   Whisper heard: {heard!r}")


# %%
def av_demo(clip=0, sound=0, utterance=0, say=""):
    fig = plt.figure(figsize=(13, 5.6))
    grid = fig.add_gridspec(3, 8)
    draw_clip(fig, grid, clip)
    draw_sound(fig.add_subplot(grid[1, 4:]), sound)
    draw_speech(fig.add_subplot(grid[2, :]), utterance, say)
    fig.tight_layout()
    return fig


mmcourse.widgets.demo(av_demo, {"clip": (0, 49, 1), "sound": (0, 49, 1), "utterance": (0, 119, 1), "say": ""},
                      examples=[{"clip": 0, "sound": 0, "utterance": 0}]);

# %% [markdown]
# ## Summary
#
# * Time is a dimension a model must be built to see: a model that pools frames cannot tell
#   a clip from its reverse; any layout that lets frames attend to each other learns direction
#   and order.
# * Joint space-time attention costs (T·N)² per block; TimeSformer's divided attention costs
#   T·N·(T+N) and computes exactly what transformers' `TimesformerLayer` computes.
# * CLAP is CLIP with an audio tower: chapter 02's loss trains it unchanged, and it names
#   sound combinations it never heard. A text tower that can only add up its words composes
#   reliably where chapter 02's end-token transformer depends on its seed.
# * A video-language model (LLaVA-OneVision) reads a clip as frames of pooled image tokens
#   and answers questions about it in words (full profile).
# * A tiny `WhisperForConditionalGeneration`, with Whisper's prompt tokens, learns to
#   transcribe digit strings in voices it never heard; WER is edit distance over words.
#
# **Next:** chapter 05 generates images from text with diffusion.

