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
# # Chapter 01 — Modalities: text, images, audio and video as tensors
#
# [![Open In Colab](https://colab.research.google.com/assets/colab-badge.svg)](https://colab.research.google.com/github/mmcourse/mmcourse/blob/main/chapters/01_modalities.ipynb)
#
# A neural network only ever sees arrays of numbers. Before a model can relate a photo
# to a sentence or a sound, each *modality* has to be turned into a tensor, and the
# choices made there (how to split text, how big an image patch is, which frames of a
# video to keep) decide what the model can learn and what it costs.
#
# **In this chapter you will**
# 1. split text into characters, words and subwords, and measure what each costs;
# 2. cut a photo into patches, prove that "patchify + linear" is a strided convolution,
#    and train a small Vision Transformer that looks at those patches;
# 3. turn sound into a log-mel spectrogram from scratch, match a library to the last
#    digit, and *see* the classic audio mistakes;
# 4. measure what video costs and sample frames three ways;
# 5. fuse an image with a caption early, in the middle and late, and compare them.

# %%
import subprocess
import sys

try:  # google.colab exists only on Colab
    import google.colab  # noqa: F401

    IN_COLAB = True
except ImportError:
    IN_COLAB = False
if IN_COLAB:
    subprocess.run(["apt-get", "install", "-qq", "espeak-ng"], check=False)  # speech for section 3
    subprocess.run([sys.executable, "-m", "pip", "install", "-q",
                    "mmcourse @ git+https://github.com/mmcourse/mmcourse"], check=True)

# %% tags=["parameters"]
PROFILE = "auto"
SEED = 0
VIT_STEPS = 800  # optimiser steps for the Vision Transformer (about 17 s on 2 CPU cores)
FUSION_STEPS = 250  # optimiser steps for each of the three fusion models (6-10 s each)

# %%
import time

import matplotlib.pyplot as plt
import numpy as np
import torch
import transformers

import mmcourse
from mmcourse import audio, data, hub, metrics, patches, text, video, viz, zoo
from mmcourse.data import clips, matching, sounds
from mmcourse.models import ViT, ViTConfig
from mmcourse.models import count_parameters
from mmcourse.models.fusion import FusionClassifier, FusionConfig, matching_loss, score_all_pairs
from mmcourse.models.vit import PatchEmbed, sincos_2d
from mmcourse.train import fit

cfg = mmcourse.setup(PROFILE, seed=SEED)

# %% [markdown]
# ## 1. Text: from characters to subwords
#
# A text model reads a sequence of **token ids**, integers that index a vocabulary. How
# to cut text into tokens is a trade-off:
#
# * **characters**: a tiny vocabulary and no unknown words, but very long sequences;
# * **words**: short sequences, but a huge vocabulary, and every word missing from it
#   becomes `[UNK]`, information lost for good;
# * **subwords (BPE)**: start from single symbols and repeatedly merge the most frequent
#   adjacent pair. Sennrich et al. (2016) start from characters; GPT-2 starts from the 256
#   *bytes* (Radford et al., 2019, §2.2), so byte-level BPE can spell *anything* and never
#   needs an unknown token. Frequent words end up as one token, rare ones as a few pieces.
#   CLIP also uses byte-level BPE, but lower-cases and cleans its text first, so it cannot
#   tell "Apple" from "apple".
#
# We train all three on the course's captions plus real English that ships inside
# scikit-learn (the descriptions of its data sets), and test them on documents they
# never saw.

# %%
docs = text.packaged_documents()
held_out = ["diabetes", "iris", "wine_data"]
train_sentences = [s for name, d in docs.items() if name not in held_out for s in text.sentences(d)]
test_sentences = [s for name in held_out for s in text.sentences(docs[name])]
captions = data.make_shapes(2000, seed=SEED).captions
corpus = train_sentences + captions
print(f"{len(corpus)} training texts, {len(test_sentences)} held-out sentences, e.g.:\n  {test_sentences[0][:110]}...")

tokenizers = {
    "characters": text.CharTokenizer.train(corpus),
    "words": text.WordTokenizer.train(corpus, max_vocab=2000),
    "BPE, 500 tokens": text.BPETokenizer.train(corpus, vocab_size=500),
    "BPE, 2000 tokens": text.BPETokenizer.train(corpus, vocab_size=2000),
}
rows = text.compare(tokenizers, test_sentences)
viz.table(rows);

# %%
by_name = {r["tokenizer"]: r for r in rows}
unk, length = {k: r["unknown tokens"] for k, r in by_name.items()}, {k: r["tokens per sentence"] for k, r in by_name.items()}
assert unk["words"] > 0.1, f"the text claims words lose over a tenth of held-out tokens; measured {unk['words']:.1%}"
assert unk["BPE, 500 tokens"] == 0, f"byte-level BPE never needs [UNK]; measured {unk['BPE, 500 tokens']:.1%}"
assert unk["BPE, 2000 tokens"] == 0, f"byte-level BPE never needs [UNK]; measured {unk['BPE, 2000 tokens']:.1%}"
assert length["characters"] > length["BPE, 500 tokens"], f"characters make the longest sequences: {length}"
assert length["BPE, 500 tokens"] > length["BPE, 2000 tokens"], f"a bigger BPE vocabulary gives shorter sequences: {length}"
assert length["BPE, 2000 tokens"] > length["words"], f"words make the shortest sequences: {length}"
bpe = tokenizers["BPE, 2000 tokens"]
for phrase in ["a red triangle on the left", "dermatoglyphics"]:
    print(f"{phrase!r:32} -> {bpe.tokenize(phrase)}")

# %% [markdown]
# Word tokens lose over a tenth of unseen text to `[UNK]`; byte-level BPE loses
# nothing, and a bigger BPE vocabulary gives shorter sequences. Our captions, frequent
# in the training text, became one token per word, while a rare word is spelled in pieces.
#
# **From ids to vectors.** A model then looks each id up in an embedding table, a
# learned matrix with one row per token. Looking up row *i* is the same as multiplying
# a one-hot vector by the matrix:

# %%
ids = torch.tensor(bpe.encode("a blue square"))
embedding = torch.nn.Embedding(bpe.vocab_size, 16)
one_hot = torch.nn.functional.one_hot(ids, bpe.vocab_size).float()
assert torch.allclose(embedding(ids), one_hot @ embedding.weight), "a lookup must equal one-hot times the table"
print(f"{len(ids)} ids {ids.tolist()} -> embeddings of shape {tuple(embedding(ids).shape)}")

# %% [markdown]
# **Why CLIP reads at most 77 tokens.** A transformer knows word order only through
# *position embeddings*, a learned table with one row per position. CLIP's text encoder
# has 77 rows: the CLIP paper (Radford et al., 2021, section 2.4) caps text at 76 BPE
# tokens, plus start and end markers (`context_length=77` in `openai/CLIP clip/clip.py`).
# Position 78 simply has no row. Here is the library's `CLIPTextModel` with a tiny width
# but CLIP's 77 positions:

# %%
clip_text = transformers.CLIPTextModel(transformers.CLIPTextConfig(
    vocab_size=1000, hidden_size=32, intermediate_size=64, num_hidden_layers=1, num_attention_heads=2,
    max_position_embeddings=77, bos_token_id=1, eos_token_id=3, pad_token_id=0))
ok = clip_text(input_ids=torch.randint(4, 1000, (1, 77))).last_hidden_state
print("77 tokens ->", tuple(ok.shape))
try:
    clip_text(input_ids=torch.randint(4, 1000, (1, 78)))
    too_long_failed = False
except (IndexError, RuntimeError, ValueError) as err:
    too_long_failed = True
    print("78 tokens ->", type(err).__name__)
assert too_long_failed, "a 78-token input must not fit 77 position embeddings"

lengths = [len(bpe.encode(c)) + 2 for c in captions]  # + start and end tokens
plt.figure(figsize=(5, 2.5))
plt.hist(lengths, bins=range(min(lengths), max(lengths) + 2), color="tab:blue")
plt.axvline(77, color="red")
plt.xlabel("caption length in BPE tokens (+2 markers)")
plt.title("our captions are far below CLIP's 77");
assert max(lengths) < 77, f"the title claims every caption fits CLIP's 77 tokens; the longest has {max(lengths)}"

# %% [markdown]
# ## 2. Images: pixels → patches → tokens
#
# A Vision Transformer (ViT; Dosovitskiy et al., 2021) reads an image as a sentence of
# **patches**: cut the image into P×P squares, flatten each, and map it linearly to a
# vector. A 224×224 photo with 16×16 patches becomes 14 × 14 = 196 tokens.

# %%
photo = data.real.photo("chelsea")
image = torch.from_numpy(np.asarray(photo.image.resize((224, 224)), dtype=np.float32) / 255).permute(2, 0, 1)
tokens = patches.patchify(image[None], 16)
print(f"{photo.label}: image {tuple(image.shape)} -> {tokens.shape[1]} patches of {tokens.shape[2]} numbers")
assert tokens.shape == (1, 196, 768), f"224/16 = 14 patches a side, 14 x 14 = 196 of 3x16x16 = 768 numbers; got {tuple(tokens.shape)}"
# the first 14 patches, back as little images
viz.image_grid([p.reshape(3, 16, 16) for p in tokens[0, :14]], ncols=14, size=0.7,
               title="the first row of 16x16 patches, as the model reads them");

# %% [markdown]
# **A strided convolution *is* patchify + linear.** A convolution with a P×P kernel
# and stride P visits each patch exactly once and takes a weighted sum of its pixels:
# precisely a linear layer applied to every flattened patch. Library ViTs implement the
# patch embedding as such a convolution; we check the identity numerically:

# %%
embed = PatchEmbed(patch_size=16, in_channels=3, dim=64)
as_conv = embed(image[None])  # (1, 196, 64)
as_linear = patches.patchify(image[None], 16) @ embed.proj.weight.flatten(1).T + embed.proj.bias
max_diff = (as_conv - as_linear).abs().max().item()
print(f"conv vs patchify + linear: max difference {max_diff:.1e}")
assert max_diff < 1e-5, f"a strided convolution must equal patchify + linear; max difference {max_diff:.1e}"

# %% [markdown]
# **Position embeddings.** Self-attention treats its input as a *set*: shuffle the
# patches and the output shuffles with them. Adding a position embedding to each patch
# token lets the model know where the patch came from. The original ViT learns them;
# the fixed sine-cosine kind (used e.g. by MAE) encodes row and column with waves of
# different frequencies, so neighbouring patches get similar vectors:

# %%
pos = sincos_2d(14, 64)[1:]  # (196, 64), without the [CLS] slot
similarity = torch.nn.functional.normalize(pos, dim=1) @ torch.nn.functional.normalize(pos, dim=1).T
fig, axes = plt.subplots(1, 3, figsize=(7.5, 2.6))
for ax, (r, c) in zip(axes, [(0, 0), (7, 7), (3, 10)]):
    ax.imshow(similarity[r * 14 + c].reshape(14, 14), cmap="viridis")
    ax.set_title(f"patch ({r}, {c}) vs all", fontsize=9)
    ax.axis("off")
fig.suptitle("cosine similarity of sine-cosine position embeddings");
near = similarity[7 * 14 + 7, 7 * 14 + 8]
far = similarity[7 * 14 + 7, 0]
assert near > far, f"neighbouring patches must have more similar position embeddings; {near:.2f} vs {far:.2f}"

# %% [markdown]
# ### A small ViT learns shapes
#
# Our ViT sees 32×32 shapes scenes as 4×4 = 16 patches of 8×8 pixels, and must name the
# shape. Two details make it learn quickly here: each flattened patch (and each token)
# is layer-normalised around the linear embedding, so a patch's overall brightness does
# not have to be learned away (the patch embedding of `lucidrains/vit-pytorch`), and the
# learning rate decays along a cosine. (`benchmarks/vit_shapes.py` measures the plain
# embedding for comparison.)

# %%
shapes_train = data.make_shapes(20000, seed=SEED)
shapes_test = data.make_shapes(1000, seed=SEED + 1)
vit = ViT(ViTConfig(image_size=32, patch_size=8, dim=64, depth=3, heads=4, num_classes=5, patch_norm=True))
y_test = shapes_test.label("shape")
history = fit(vit, data.Batches(shapes_train.images, shapes_train.label("shape"), batch_size=128, seed=SEED),
              steps=VIT_STEPS, lr=3e-3, warmup=20, schedule="cosine", cfg=cfg, desc="ViT",
              eval_fn=lambda m: {"test accuracy": metrics.accuracy(metrics.predict(m, shapes_test.images), y_test)},
              eval_every=200)
vit_acc = history.final_eval["test accuracy"]
mmcourse.log_metric("vit_accuracy", vit_acc)
print(f"ViT: {count_parameters(vit):,} parameters, {history.steps} steps in {history.seconds:.1f} s, "
      f"test accuracy {vit_acc:.1%}")
viz.plot_history(history, title="ViT on shapes");
assert vit_acc >= 0.95, f"the text claims the ViT names at least 95% of test shapes; measured {vit_acc:.1%}"

# %% [markdown]
# **Where does it look?** The [CLS] token gathers the image into one vector by attending
# to the patches. Its attention in the last layer, averaged over heads, is drawn over
# each image:

# %%
sample = shapes_test.images[:8]
attention = vit.cls_attention(sample.to(cfg.device)).cpu()  # (8, 4, 4)
fig, axes = plt.subplots(2, 8, figsize=(12, 3.2))
for i in range(8):
    axes[0, i].imshow(viz.to_numpy_image(sample[i]), interpolation="nearest")
    axes[0, i].set_title(shapes_test.objects(i)[0].name, fontsize=7)
    axes[1, i].imshow(viz.to_numpy_image(sample[i]), interpolation="nearest")
    axes[1, i].imshow(attention[i], cmap="magma", alpha=0.6, extent=(0, 32, 32, 0))
    for ax in axes[:, i]:
        ax.axis("off")
fig.suptitle("[CLS] attention over the 4x4 patches (bright = attended)");

many = vit.cls_attention(shapes_test.images[:300].to(cfg.device)).cpu()  # (300, 4, 4)
centre_patch = (shapes_test.centers[:300, 0] // 8).long()  # (300, 2): (x, y) of the object's patch
ratio = many[torch.arange(300), centre_patch[:, 1], centre_patch[:, 0]].mean().item() * 16
print(f"the patch at the object's centre gets {ratio:.2f}x its uniform share (1/16) of [CLS] attention")

# %% [markdown]
# Do not read too much into such maps. After the first layer every token already
# mixes information from the others, so the last layer's [CLS] can find the shape in
# any token. Jain & Wallace (2019, "Attention is not Explanation") showed that very
# different attention weights can give the same predictions; Wiegreffe & Pinter (2019,
# "Attention is not not Explanation") answered that whether attention explains depends on
# what one asks of an explanation, and proposed tests for it. Either way, a map like this is
# a hint about the computation, not a proof of what the model used.
#
# **The real thing.** With the full profile, `google/vit-base-patch16-224` (86M
# parameters, ImageNet-1k classes; ViT paper Table 1, ViT-Base) names the photos that ship
# with the course's packages. A random tiny model would only print random labels, so the
# tiny profile shows what the real model needs instead: its image processor turns any photo
# into a 224×224 tensor normalised per channel, the input a ViT-B/16 cuts into 196 patches.

# %%
real_photos = data.real.photos(["chelsea", "coffee", "rocket", "astronaut"])
if cfg.is_full:
    processor = transformers.AutoImageProcessor.from_pretrained(hub.spec("vit-b16").repo_id)
else:  # the same settings as the checkpoint's preprocessor_config.json, built offline
    processor = mmcourse.compat.image_processor_class("ViTImageProcessor")(
        size={"height": 224, "width": 224}, image_mean=[0.5, 0.5, 0.5], image_std=[0.5, 0.5, 0.5])
inputs = processor(images=[p.image for p in real_photos], return_tensors="pt")
pixels = inputs["pixel_values"]  # (4, 3, 224, 224)
print(f"{[p.image.size for p in real_photos]} -> {tuple(pixels.shape)}, values in "
      f"[{pixels.min():.2f}, {pixels.max():.2f}] (rescaled to [0, 1], then (x - 0.5) / 0.5)")
assert tuple(pixels.shape) == (4, 3, 224, 224), f"every photo becomes 3x224x224; got {tuple(pixels.shape)}"
assert pixels.min() >= -1.0, f"normalised with mean 0.5 and std 0.5, no value is below -1: {pixels.min():.2f}"
assert pixels.max() <= 1.0, f"...and none above 1: {pixels.max():.2f}"

# %%
if cfg.is_full:
    vit_hf = hub.load("vit-b16", cfg)
    with torch.no_grad():
        logits = vit_hf(pixel_values=pixels.to(cfg.device, vit_hf.dtype)).logits
    for p, i in zip(real_photos, logits.argmax(-1).tolist()):
        print(f"{p.name:12} ({p.label}) -> {vit_hf.config.id2label[i]}")
else:
    print("tiny profile: the ImageNet predictions need PROFILE='full' (a GPU and the hub);"
          " with PROFILE='full' this cell prints the label of each photo")

# %% [markdown]
# ## 3. Audio: waveform → spectrogram → log-mel
#
# Sound is a pressure wave sampled thousands of times a second (16,000 for speech
# models). Raw samples are a poor input: what we hear is *which frequencies* are present
# and how that changes over time. The standard recipe, used by Whisper (Radford et al.,
# 2022, section 2.2: 16 kHz, 25 ms windows, 10 ms hop, 80 mel channels):
#
# 1. **STFT**: slide a 25 ms window along the signal in 10 ms steps and take each
#    window's Fourier spectrum (power per frequency);
# 2. **mel filterbank**: pool the frequencies into 80 bands spaced like human pitch
#    perception (narrow at low frequencies, wide at high ones);
# 3. **log**: loudness is perceived logarithmically.
#
# `mmcourse.audio` implements this from scratch in torch; first, the filterbank:

# %%
fb = audio.mel_filterbank(n_freqs=201, n_mels=80, sample_rate=16000, f_max=8000)
plt.figure(figsize=(7, 2.5))
plt.plot(np.linspace(0, 8000, 201), fb[:, ::8].numpy())
plt.xlabel("frequency (Hz)")
plt.title("every 8th of the 80 mel filters: narrow and tall at low pitch, wide at high");
widths = (fb > 0).sum(0)
assert widths[-1] > 5 * widths[2], "high-frequency bands should be much wider"

# %% [markdown]
# Four synthetic sounds show what a spectrogram reveals: a steady tone is a horizontal
# line, a chirp a rising line, noise a broad block, clicks vertical lines.

# %%
sr = sounds.SAMPLE_RATE
examples = {
    "tone 440 Hz": sounds.tone(440, 1.0),
    "chirp 200→4000 Hz": sounds.chirp(200, 4000, 1.0),
    "noise burst": sounds.noise_burst(1.0, seed=SEED),
    "clicks": sounds.clicks([0.2, 0.5, 0.8], 1.0),
}
if sounds.espeak_available():
    examples["speech: 'seven three nine'"] = sounds.speech("seven three nine")
else:
    print("espeak-ng is not installed: showing synthetic sounds only (apt-get install espeak-ng for speech)")
fig, axes = plt.subplots(2, len(examples), figsize=(3 * len(examples), 4.2))
for k, (name, w) in enumerate(examples.items()):
    axes[0, k].plot(np.arange(len(w)) / sr, w.numpy(), lw=0.5)
    axes[0, k].set_title(name, fontsize=9)
    axes[1, k].imshow(audio.log_mel_spectrogram(w), origin="lower", aspect="auto", cmap="magma")
    axes[1, k].set_xlabel("frame (10 ms)")
axes[0, 0].set_ylabel("waveform")
axes[1, 0].set_ylabel("mel band")
fig.tight_layout();

# %%
tone_mel = audio.log_mel_spectrogram(examples["tone 440 Hz"])
chirp_mel = audio.log_mel_spectrogram(examples["chirp 200→4000 Hz"])
assert tone_mel[:, 10:90].argmax(0).unique().numel() <= 2, "a steady tone stays in one band"
assert chirp_mel[:, 90].argmax() > chirp_mel[:, 10].argmax() + 20, "a chirp climbs the bands"

# %% [markdown]
# **Checked against the library.** Our from-scratch features must equal what the
# transformers `WhisperFeatureExtractor` computes. The real Whisper pads (or cuts) every
# input to 30 seconds, 3,000 frames (`openai/whisper whisper/audio.py`: `N_SAMPLES`,
# `N_FRAMES`), so a short clip is mostly silence to it; here the extractor is configured
# for one-second clips, a shortcut that keeps the comparison small:

# %%
clip_1s = examples.get("speech: 'seven three nine'", examples["chirp 200→4000 Hz"])
clip_1s = torch.nn.functional.pad(clip_1s, (0, max(0, sr - len(clip_1s))))[:sr]
extractor = transformers.WhisperFeatureExtractor(feature_size=80, chunk_length=1)
reference = extractor(clip_1s.numpy(), sampling_rate=sr, return_tensors="np").input_features[0]
ours = audio.log_mel_spectrogram(clip_1s)
mel_error = float(np.abs(ours.numpy() - reference).max())
mmcourse.log_metric("mel_max_error", mel_error)
print(f"ours {tuple(ours.shape)} vs WhisperFeatureExtractor {reference.shape}: max |difference| = {mel_error:.2e}")
assert ours.shape == reference.shape, f"same frames and bands as the library: {tuple(ours.shape)} vs {reference.shape}"
assert mel_error <= 1e-4, f"our log-mel must equal WhisperFeatureExtractor's; max difference {mel_error:.1e}"

# %% [markdown]
# ### Three classic mistakes, shown
#
# **Wrong sample rate.** Numbers do not carry their sample rate. Read a 1000 Hz tone
# recorded at 22,050 Hz as if it were 16 kHz and every frequency drops by 16000/22050:

# %%
tone_22k = sounds.tone(1000, 1.0, sample_rate=22050)
heard = audio.dominant_frequency(tone_22k, 16000)
print(f"a 1000 Hz tone read at the wrong rate sounds like {heard:.0f} Hz")
assert abs(heard - 1000 * 16000 / 22050) < 5, f"expected 1000 x 16000/22050 = 726 Hz; heard {heard:.0f} Hz"

# %% [markdown]
# **Aliasing.** Halving the sample rate by keeping every other sample folds frequencies
# above the new limit (half the new rate) back into the audible range as false tones. A
# proper resampler low-pass filters first:

# %%
high = sounds.tone(7000, 1.0, sample_rate=22050)
naive = high[::2]  # 11,025 Hz, limit 5,512 Hz: 7 kHz cannot be represented
proper = audio.resample(high, 22050, 11025)
alias = audio.dominant_frequency(naive, 11025)
print(f"naive decimation: a false tone at {alias:.0f} Hz (11025 - 7000 = 4025); "
      f"proper resampling keeps {proper.pow(2).mean().sqrt() / naive.pow(2).mean().sqrt():.1%} of the level")
assert abs(alias - 4025) < 5, f"the false tone should sit at 11025 - 7000 = 4025 Hz; found {alias:.0f} Hz"
assert proper.pow(2).mean().sqrt() < 0.05 * naive.pow(2).mean().sqrt(), "a proper resampler removes the tone"

# %% [markdown]
# **Unnormalised integers.** Audio files store 16-bit integers (−32768…32767). Forget to
# divide by 32768 and the power grows by 32767², so Whisper-style features, which are
# log10 of the power divided by 4, all shift by log10(32767²)/4 ≈ 2.26: far outside the
# range (about −1 to 1) a model was trained on.

# %%
hiss = sounds.noise_burst(1.0, start=0.0, length=1.0, seed=SEED)  # noise: energy in every band
as_int16 = torch.round(hiss * 32767)  # what a WAV file holds
shift = (audio.log_mel_spectrogram(as_int16) - audio.log_mel_spectrogram(hiss)).mean().item()
print(f"features shifted by {shift:.3f} (expected {np.log10(32767 ** 2) / 4:.3f})")
assert abs(shift - np.log10(32767**2) / 4) < 0.02, f"expected a shift of 2.26; measured {shift:.3f}"

# %% [markdown]
# ## 4. Video: frames, cost and sampling
#
# A clip is a (T, C, H, W) tensor: T frames of images. That multiplies every cost. The
# cell below computes it for 10 seconds at 30 frames per second:

# %%
cost_rows = []
for name, (h, w) in {"360p": (360, 640), "720p": (720, 1280), "1080p": (1080, 1920)}.items():
    frames = 10 * 30
    tokens_per_frame = (h // 16) * (w // 16)
    cost_rows.append({
        "resolution": name,
        "numbers": f"{frames * 3 * h * w:,}",
        "uint8 GB": round(video.clip_bytes(frames, h, w) / 1e9, 2),
        "float32 GB": round(video.clip_bytes(frames, h, w, dtype=torch.float32) / 1e9, 2),
        "ViT tokens (16x16 patches)": f"{frames * tokens_per_frame:,}",
        "attention pairs": f"{(frames * tokens_per_frame) ** 2:.1e}",
    })
viz.table(cost_rows);

# %% [markdown]
# Nobody feeds all of that to a model. Video models **sample** a few frames: uniformly,
# at random, or one per segment (TSN; Wang et al., 2016): split the clip into k equal
# segments and take one frame from each (a random one while training, the middle one
# at test time), so the whole clip is covered. Here on scikit-image's animated GIF and a
# synthetic clip of a moving shape:

# %%
gif = clips.skimage_gif()
moving = clips.moving_shape(frames=16, color="orange", shape="cross")
k = 6
strategies = {
    "uniform": video.sample_uniform(len(gif), k),
    "random": video.sample_random(len(gif), k, seed=SEED),
    "segments (train)": video.sample_segments(len(gif), k, train=True, seed=SEED),
    "segments (test)": video.sample_segments(len(gif), k, train=False),
}
fig, axes = plt.subplots(len(strategies) + 1, k, figsize=(k * 1.1, 1.6 * (len(strategies) + 1)))
for row, (name, idx) in enumerate(strategies.items()):
    for col, i in enumerate(idx):
        axes[row, col].imshow(viz.to_numpy_image(gif[i]))
        axes[row, col].set_title(f"{i}", fontsize=7)
        axes[row, col].axis("off")
    axes[row, 0].text(-12, 12, name, fontsize=8, ha="right")
for col, i in enumerate(video.sample_uniform(len(moving), k)):
    axes[-1, col].imshow(viz.to_numpy_image(moving[i]), interpolation="nearest")
    axes[-1, col].axis("off")
fig.suptitle(f"{k} of {len(gif)} GIF frames per strategy; last row: a moving shape");
# %%
edges = np.linspace(0, len(gif), k + 1)
for name in ("segments (train)", "segments (test)"):
    inside = all(edges[j] <= i < edges[j + 1] for j, i in enumerate(strategies[name]))
    assert inside, f"{name}: each sampled frame must come from its own segment; got {strategies[name]}"

# %% [markdown]
# **Tokens for video.** Embedding each frame's patches separately gives T·(H/P)·(W/P)
# tokens. A *tubelet* embedding (ViViT, VideoMAE) takes t frames × P × P pixels at a
# time, a 3-D convolution, and divides the count by t. For VideoMAE's 16 frames of
# 224×224 with 16×16 patches and t = 2:

# %%
per_frame = video.video_tokens(16, 224, 224, patch_size=16, tubelet=1)
tubelets = video.video_tokens(16, 224, 224, patch_size=16, tubelet=2)
embedded = video.TubeletEmbed(patch_size=16, tubelet=2, dim=8)(torch.rand(1, 16, 3, 224, 224))
print(f"per-frame patches: {per_frame:,} tokens; tubelets of 2 frames: {tubelets:,} tokens -> {tuple(embedded.shape)}")
assert embedded.shape[1] == tubelets, f"the 3-D convolution must make {tubelets} tokens; got {embedded.shape[1]}"
assert tubelets * 2 == per_frame, f"tubelets of 2 frames halve the token count: {per_frame} vs {tubelets}"

# %% [markdown]
# ## 5. Fusion: where should the modalities meet?
#
# Task: *does this caption describe this image?* Each scene holds one shape; its
# caption ("an orange cross on the left") is right, or wrong in exactly one word: the
# colour, the shape or the side. Neither modality alone can answer.
#
# Three models share the same image tokens (the 4×4 feature map of chapter 00's zoo CNN,
# frozen, so that all three start from an image encoder that knows colours and shapes,
# as real systems start from pretrained encoders) and the same word embeddings. They
# differ only in where the streams meet:
#
# * **early**: one transformer over [CLS] + image tokens + text tokens (like ViLT);
# * **mid**: each stream encodes itself, then text tokens *cross-attend* to image tokens;
# * **late**: two encoders each produce one vector; the score is their cosine (like CLIP).
#
# Each trains for the same number of steps (250 batches of 128 pairs) from the same seed.

# %%
match_train = matching.make_matching(12000, seed=SEED)
match_test = matching.make_matching(2000, seed=SEED + 1)
print(list(zip(match_train.captions[:4], match_train.kinds[:4])))


def matching_accuracy(model, d, kind=None):
    with torch.no_grad():
        logits = torch.cat([model(d.images[i:i + 500].to(cfg.device), d.tokens[i:i + 500].to(cfg.device)).cpu()
                            for i in range(0, len(d), 500)])
    right = (logits > 0).float() == d.labels
    if kind is not None:
        right = right[[k == kind for k in d.kinds]]
    return right.float().mean().item()


# %%
fusion_rows, fusion_models = [], {}
for fusion in ("early", "mid", "late"):
    torch.manual_seed(SEED)
    body = zoo.load("shapes-cnn").body  # a fresh copy of the pretrained CNN for each model
    model = FusionClassifier(FusionConfig(fusion=fusion, vocab_size=len(matching.WORDS)), image_body=body)
    h = fit(model, data.Batches(match_train.images, match_train.tokens, match_train.labels, batch_size=128, seed=SEED),
            loss_fn=matching_loss, steps=FUSION_STEPS, lr=2e-3, warmup=20, schedule="cosine", cfg=cfg,
            desc=f"{fusion} fusion")
    start = time.perf_counter()
    score_all_pairs(model, match_test.images[:50].to(cfg.device), match_test.tokens[:50].to(cfg.device))
    pair_seconds, fusion_models[fusion] = time.perf_counter() - start, model
    fusion_rows.append({"fusion": fusion, "accuracy": matching_accuracy(model, match_test),
                        **{f"wrong {k}": matching_accuracy(model, match_test, k) for k in matching.NEGATIVE_KINDS},
                        "trainable params": count_parameters(model, trainable_only=True), "train steps": h.steps,
                        "train s": round(h.seconds, 1), "score 50x50 pairs (s)": round(pair_seconds, 3)})
viz.table(fusion_rows);

# %%
acc = {r["fusion"]: r["accuracy"] for r in fusion_rows}
pair_cost = {r["fusion"]: r["score 50x50 pairs (s)"] for r in fusion_rows}
for name, value in acc.items():
    mmcourse.log_metric(f"{name}_fusion_accuracy", value)
fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(8, 2.8))
ax1.bar(list(acc), list(acc.values()), color=["tab:orange", "tab:green", "tab:blue"])
ax1.set_ylim(0.4, 1.0)
ax1.set_title(f"accuracy after {FUSION_STEPS} steps")
ax2.bar(list(pair_cost), list(pair_cost.values()), color=["tab:orange", "tab:green", "tab:blue"])
ax2.set_yscale("log")
ax2.set_title("seconds to score 50 images x 50 captions");
assert acc["mid"] >= 0.95, f"the text claims mid fusion is right on at least 95% of pairs: {acc}"
assert acc["late"] >= 0.95, f"the text claims late fusion is as good here (at least 95%): {acc}"
assert acc["mid"] > acc["early"], f"the text claims mid fusion beats early fusion at this budget: {acc}"
assert pair_cost["late"] * 10 < min(pair_cost["early"], pair_cost["mid"]), (
    f"the text claims late fusion scores all pairs at least 10x faster: {pair_cost}")

# %% [markdown]
# **What the table shows.**
#
# * **Mid fusion learns fast.** Cross-attention hands each word a direct way to query the
#   image tokens ("is there *orange* on the *left*?"), which is exactly this task's
#   structure.
# * **Late fusion is just as good here** because this task only asks whether one described
#   object is present, which fits in one vector per side. Dual encoders are known to be
#   weak at *binding* (which colour goes with which shape when there are several objects):
#   Winoground (Thrush et al., 2022) and ARO (Yuksekgonul et al., 2023) measure it. ARO
#   traces it to the contrastive objective and the data, which rarely force a model to
#   tell "a red cube and a blue ball" from the swapped caption, rather than to the vector
#   size itself.
# * **Early fusion learns slowest** in this budget: plain self-attention over a mixed
#   bag of 23 tokens has to discover from scratch which tokens to relate. It is the
#   most flexible design, and with more data and steps (as in ViLT) that flexibility
#   pays; within 250 steps it has not caught up.
# * **Cost decides retrieval.** To match 50 images with 50 captions, late fusion
#   encodes 100 inputs and multiplies two small matrices; early and mid fusion must run
#   the joint model on all 2,500 pairs, and the gap grows with the product of the two.
#   This is why search uses dual encoders (chapter 02) and lets a fused model re-rank
#   only the top few, as ALBEF and BLIP do: retrieve with the contrastive embeddings (ITC),
#   then re-score the top k with the image-text matching head (ITM).
#
# ### Play with it
#
# Change the patch size and see how the photo is cut into tokens (in a live notebook:
# a slider; in a static copy: three settings).

# %%
def show_patches(patch_size=32):
    img = photo.image.resize((224, 224))
    n = 224 // patch_size
    fig, ax = plt.subplots(figsize=(3.2, 3.4))
    ax.imshow(img)
    for k in range(1, n):
        ax.axhline(k * patch_size, color="white", lw=0.6)
        ax.axvline(k * patch_size, color="white", lw=0.6)
    ax.set_title(f"patch {patch_size}: {n * n} tokens of {3 * patch_size ** 2} numbers", fontsize=9)
    ax.axis("off")
    return fig


mmcourse.widgets.demo(show_patches, {"patch_size": [8, 14, 16, 28, 32, 56]},
                      examples=[{"patch_size": 56}, {"patch_size": 32}, {"patch_size": 16}]);

# %% [markdown]
# ## Summary
#
# * Text becomes token ids; byte-level BPE balances vocabulary size, sequence length and
#   never meeting an unknown word. A transformer's position table caps its input (77 for CLIP).
# * Images become patch tokens; the patch embedding is a strided convolution; position
#   embeddings say where each patch was. A 3-layer ViT learned shapes in seconds.
# * Audio becomes a log-mel spectrogram; ours matches Whisper's extractor. Sample rates,
#   anti-aliasing and integer scaling are silent bugs you can now recognise.
# * Video multiplies every cost by the number of frames; models sample frames and
#   embed tubelets.
# * Where modalities meet is a design choice with measurable consequences: here
#   cross-attention learned best, dual encoders were almost as good and far cheaper to search.
#
# **Exercises:** `exercises/01_modalities.ipynb`: patchify, mel filters, segment
# sampling and the late-fusion scorer, each checked against the package.
#
# **Next:** chapter 02 trains CLIP, a late-fusion model, from scratch.
