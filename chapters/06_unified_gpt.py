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
# # Chapter 06 — A unified multimodal GPT: images as tokens, one vocabulary, one decoder
#
# [![Open In Colab](https://colab.research.google.com/assets/colab-badge.svg)](https://colab.research.google.com/github/mmcourse/mmcourse/blob/main/chapters/06_unified_gpt.ipynb)
#
# Chapter 03's LLaVA reads images but cannot draw; chapter 05's diffusion model draws but
# cannot read. This chapter builds one model that does both, with the idea behind Chameleon
# and Janus: turn an image into a short sequence of integer *tokens*, put those tokens in the
# same vocabulary as words, and train one next-token decoder on documents that mix both.
#
# **In this chapter you will**
# 1. train a VQ-VAE that turns a 32×32 scene into 64 codes, check its quantiser against
#    diffusers', and measure why a codebook needs a fix for dead codes;
# 2. lay text ids, `<boi>`/`<eoi>` and image codes out in one vocabulary and round-trip an
#    interleaved document;
# 3. train one transformers `LlamaForCausalLM` on a single token stream of text → image,
#    image → caption and image + question → answer, and sample from it with a modality mask
#    and a KV cache;
# 4. measure temperature, top-k and classifier-free guidance on logits, a staged training
#    schedule against one joint mix, and the unified model against chapter 03's and 05's
#    specialists.

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
VQ_STEPS = 100  # optimiser steps for each live VQ-VAE (batch 32), without and with restarts
GPT_STEPS = 300  # optimiser steps for the live unified decoder (batch 16)

# %%
import time

import matplotlib.pyplot as plt
import numpy as np
import torch
import transformers
from diffusers.models.autoencoders.vae import VectorQuantizer

import mmcourse
from mmcourse import diffusion, hub, sampling, sequences, unified, viz, zoo
from mmcourse.data import make_qa, make_shapes
from mmcourse.data.vocabulary import HOLDOUT_PAIRS, SEEN_PAIRS
from mmcourse.models.unified import UnifiedConfig, build_unified
from mmcourse.models.vq import VQConfig, VQLoss, build_vq, codebook_usage, codes_to_image, image_to_codes, quantise
from mmcourse.tokens import MultimodalVocabulary, unified_text_tokenizer
from mmcourse.train import fit

# %%
cfg = mmcourse.setup(PROFILE, seed=SEED)

# %% [markdown]
# ## 1. Images as tokens: a VQ-VAE
#
# A transformer predicts the next token from a finite vocabulary; an image is 3,072 real
# numbers. A VQ-VAE (van den Oord et al. 2017) bridges the two: a convolutional encoder maps the
# image to an 8×8 grid of vectors z_e, each vector is replaced by the nearest of K = 128 learned
# codebook vectors e_k, and a decoder rebuilds the image from those. The index k of each chosen
# vector is the token. Picking the nearest vector has no gradient, so the decoder's gradient is
# copied straight through to the encoder (§3.2), and the loss (eq. 3) adds two terms that train
# the codebook and keep the encoder close to it (β = 0.25 in the paper):
#
# $$\mathcal{L} = \log p(x \mid z_q) + \lVert \mathrm{sg}[z_e] - e \rVert^2 + \beta \lVert z_e - \mathrm{sg}[e] \rVert^2 .$$

# %%
viz.show_source(quantise)

# %% [markdown]
# diffusers' `VectorQuantizer` (inside the `VQModel` that aMUSEd's tokenizer loads into) does the
# same lookup. Same codebook, same inputs: the same codes and the same loss. One catch, named in
# its source: by default (`legacy=True`) it keeps an old bug that puts β on the codebook term
# instead of the commitment term; `legacy=False` is eq. 3.

# %%
g = torch.Generator().manual_seed(SEED)
theirs = VectorQuantizer(128, 16, beta=0.25, legacy=False)
theirs.embedding.weight.data = torch.randn(128, 16, generator=g)
z = torch.randn(4, 16, 8, 8, generator=g)  # (B, code dim, 8, 8) encoder outputs
z_q, their_loss, (_, _, their_codes) = theirs(z)
ours = quantise(z, theirs.embedding.weight.detach(), beta=0.25)
same_codes = torch.equal(ours.codes.flatten(), their_codes.flatten())
loss_gap = (ours.codebook_loss + ours.commitment_loss - their_loss).abs().item()
print(f"same codes: {same_codes}; loss gap {loss_gap:.1e}; vector gap {(ours.z_q - z_q).abs().max():.1e}")
assert same_codes, "our nearest-code lookup should pick VectorQuantizer's codes"
assert loss_gap < 1e-6, f"eq. 3's two terms should equal VectorQuantizer(legacy=False)'s loss (gap {loss_gap:.1e})"

# %% [markdown]
# **Dead codes, measured.** A codebook vector that no encoder output is nearest to gets no
# gradient and never moves: it is dead, and the codebook is effectively smaller. Perplexity,
# exp of the entropy of the code frequencies, says how many codes are *effectively* in use.
# The common fix (Jukebox, Dhariwal et al. 2020, §2.3; many VQGAN reimplementations) restarts
# each code unused for a while on a random encoder output. Two tiny `VQModel`s, same steps and
# data, without and with restarts every 20 steps:

# %%
scenes = make_shapes(4000, seed=SEED)
test = make_shapes(500, seed=SEED + 1)


def train_vq(restart_every):
    torch.manual_seed(SEED)
    model = build_vq(VQConfig(block_out_channels=(16, 32, 32), codebook_size=128))
    loss_fn = VQLoss(restart_every=restart_every)
    gen = torch.Generator().manual_seed(SEED)
    fit(model, lambda: (scenes.images[torch.randint(0, 4000, (32,), generator=gen)],), loss_fn=loss_fn,
        steps=VQ_STEPS, lr=2e-3, cfg=cfg, desc=f"VQ-VAE, restart every {restart_every or 'never'}")
    return codebook_usage(image_to_codes(model.eval(), test.images), 128)


live_usage = {"no fix": train_vq(0), "dead-code restarts": train_vq(20)}
viz.table([{"codebook": k, **{m: round(v, 1) for m, v in u.items()}} for k, u in live_usage.items()])
mmcourse.log_metric("live_vq_perplexity_restarts", live_usage["dead-code restarts"]["perplexity"])
assert live_usage["dead-code restarts"]["codes used"] > live_usage["no fix"]["codes used"], (
    f"restarts should bring dead codes back into use: {live_usage}")

# %% [markdown]
# The zoo's `vq-shapes` is the same recipe run longer (4,000 steps of 64, restarts every 50
# steps); its recipe trains the no-fix model too, for the same steps, so the table below is the
# long-run version of the one above. The codebook the fix leaves is used almost entirely.

# %%
vq_metrics = zoo.meta("vq-shapes")["metrics"]
usage_rows = [{"codebook": name, "perplexity": vq_metrics[f"{p}perplexity"], "codes used": vq_metrics[f"{p}codes_used"],
               "dead codes": vq_metrics[f"{p}dead_codes"], "reconstruction read correctly":
               vq_metrics[f"{p}recon_pair_accuracy"]} for name, p in (("no fix", "no_restart_"), ("restarts", ""))]
viz.table(usage_rows)
assert usage_rows[1]["perplexity"] > usage_rows[0]["perplexity"], f"restarts should use the codebook better: {usage_rows}"

# %% [markdown]
# Each code of the 8×8 grid stands for a 4×4-pixel patch. Originals on top, images decoded from
# their 64 codes below; the zoo's shapes classifier (chapter 02) reads the reconstructions:

# %%
vq = zoo.load("vq-shapes", cfg)
test_codes = image_to_codes(vq, test.images)  # (500, 8, 8) integers in [0, 128)
recon = codes_to_image(vq, test_codes)
judge = zoo.load("shapes-cnn", cfg)
recon_acc = (mmcourse.metrics.predict(judge, recon).argmax(1) == test.label("pair")).float().mean().item()
viz.image_grid(torch.cat([test.images[:8], recon[:8]]), ncols=8)
bits_image, bits_codes = 32 * 32 * 3 * 8, 64 * np.log2(128)
print(f"{test_codes[0].numel()} tokens per image; {bits_image} bits of pixels -> {bits_codes:.0f} bits of codes "
      f"({bits_image / bits_codes:.0f}x smaller); classifier reads {recon_acc:.1%} of reconstructions correctly")
mmcourse.log_metric("vq_recon_accuracy", recon_acc)
assert recon_acc >= 0.95, f"64 codes should keep colour and shape readable (measured {recon_acc:.1%})"

# %% [markdown]
# Real tokenizers are the same idea at scale: Chameleon (2024, §2.1) turns a 512×512 image into
# 1,024 codes of an 8,192-entry codebook; the VQGAN of Esser et al. (taming-transformers README)
# reaches rFID 7.94 with 1,024 codes at f = 16 and 4.98 with 16,384.
#
# ## 2. One vocabulary for every modality
#
# Give the 128 codes their own ids after the text tokenizer's, with two new specials that open
# and close an image, and a sequence of ids can hold words and pictures in any order:

# %%
vocab = MultimodalVocabulary(unified_text_tokenizer(), codebook_size=128, tokens_per_image=64)
print(vocab)
fig, ax = plt.subplots(figsize=(10, 1.2))
for (name, (start, end)), colour in zip(vocab.ranges().items(), ("tab:blue", "tab:orange", "tab:green")):
    ax.barh(0, end - start, left=start, color=colour, label=f"{name} [{start}, {end})")
ax.set(yticks=[], xlabel="token id", xlim=(0, len(vocab)))
ax.legend(ncol=3, loc="upper center", bbox_to_anchor=(0.5, 1.9))
plt.show()

# %% [markdown]
# An interleaved document (a caption, an image, a question, a second image, an answer) becomes
# one list of ids and comes back exactly; the decoder refuses ids that break the layout (a word
# inside an image span, an image of the wrong length, a code outside `<boi>` … `<eoi>`).

# %%
document = ["draw : a red circle", test_codes[0], "what colour is the circle?", test_codes[1], "red"]
ids = vocab.encode(document)
back = vocab.decode(ids)
print(len(ids), "ids:", ids[:8], "...", ids[-4:])
same = len(back) == len(document) and all((a == b) if isinstance(a, str) else torch.equal(a, b)
                                          for a, b in zip(document, back))
assert same, f"the document should round-trip exactly: {back}"

# %% [markdown]
# ## 3. One decoder, three tasks, one token stream
#
# Every task is a document; labels (−100 where the model only reads, as in chapter 03's
# instruction tuning) say what it learns to write. Text → image learns the codes after
# `draw : caption <boi>`; captioning and VQA learn the words after the image. One caption in ten
# is dropped from text → image (`draw : <boi>`), so the model also learns to draw without one,
# which section 4's guidance needs.

# %%
viz.show_source(sequences.task_example)

# %%
qa = make_qa(test, seed=SEED)[2]
for task in ("draw", "caption", "vqa"):
    ids, labels = sequences.task_example(vocab, task, test_codes[2], test.captions[2], qa)
    learned = [i for i, y in zip(ids, labels) if y != -100]
    print(f"{task:8s} {len(ids)} ids, {len(learned)} learned; reads:", vocab.decode([i for i, y in zip(ids, labels)
                                                                               if y == -100 and i < vocab.boi]))

# %% [markdown]
# The decoder is transformers' `LlamaForCausalLM` from a tiny config (Chameleon's architecture is
# Llama-2's with query-key normalisation, §2.3): the same class, the same training loop and loss
# as chapter 03's language model; nothing in it knows which ids are pixels. Live, for a few
# steps, on 4,000 tokenised scenes (never the six held-out colour–shape pairs):

# %%
train_scenes = make_shapes(4000, split="train", seed=SEED)
train_data = sequences.unified_data(train_scenes, image_to_codes(vq, train_scenes.images), seed=SEED)
torch.manual_seed(SEED)
live = build_unified(UnifiedConfig(vocab_size=len(vocab), hidden_size=64, num_hidden_layers=2, pad_token_id=vocab.pad,
                                   bos_token_id=vocab.bos, eos_token_id=vocab.eos))
mix = sequences.TaskMix(vocab, train_data, {"draw": 2, "caption": 1, "vqa": 1}, batch_size=16, seed=SEED)
history = fit(live, mix, loss_fn=sequences.unified_loss, steps=GPT_STEPS, lr=3e-3, cfg=cfg, desc="unified decoder")
first, last = np.mean(history.loss[:20]), np.mean(history.loss[-20:])
print(f"next-token loss: first 20 steps {first:.2f}, last 20 {last:.2f} (uniform over {len(vocab)} ids: "
      f"{np.log(len(vocab)):.2f})")
mmcourse.log_metric("live_unified_loss", last)
assert last < 0.7 * first, f"the decoder should learn: loss {first:.2f} -> {last:.2f}"

# %% [markdown]
# **Modality-constrained decoding.** The decoder scores every id at every step, pixels and words
# alike. Sampling applies a mask: inside `<boi>` … `<eoi>` only image codes until the image holds
# 64, then only `<eoi>`; elsewhere only words, `<boi>` and `</s>`. So a drawn image always has
# exactly 64 valid codes, and a caption never contains a pixel. A KV cache keeps each step at one
# new token (chapter 03).

# %%
viz.show_source(sampling.modality_mask)

# %% [markdown]
# The zoo's `unified-shapes` is this recipe at scale: width 96, 4 layers (0.46 M parameters),
# 7,000 steps of 32 on 12,000 scenes. It draws, captions and answers. Asked for each of the 24
# colour–shape pairs it was trained on (4 images each, temperature 1, no guidance) and for the
# six it never saw:

# %%
gpt = zoo.load("unified-shapes", cfg)
draws = {split: unified.draw_scores(gpt, vocab, vq, judge, pairs, per_pair=4, seed=SEED)
         for split, pairs in (("seen pairs", SEEN_PAIRS), ("never-seen pairs", HOLDOUT_PAIRS))}
viz.table([{"prompts": k, **{m: round(v, 3) for m, v in s.items()}} for k, s in draws.items()])
images = unified.draw(gpt, vocab, vq, [f"a {c} {s}" for c, s in SEEN_PAIRS[::4]] * 2, seed=SEED)
viz.image_grid(images, ncols=6)
mmcourse.log_metric("draw_pair_accuracy", draws["seen pairs"]["pair"])
assert draws["seen pairs"]["pair"] >= 0.8, f">= 80% of drawn images should show the prompt: {draws['seen pairs']}"

# %% [markdown]
# Reading, greedy, on 300 scenes it never saw (of the pairs it was trained on):

# %%
read_scenes = make_shapes(300, split="train", seed=SEED + 11)
read_codes = image_to_codes(vq, read_scenes.images)
objects = [[(o.color, o.shape) for o in read_scenes.objects(i)] for i in range(len(read_scenes))]
caption_ok = unified.caption_exactness(gpt, vocab, read_codes, objects)
vqa = unified.vqa_scores(gpt, vocab, read_codes, make_qa(read_scenes, seed=SEED))
print(unified.read(gpt, vocab, read_codes[:4], ["describe :"] * 4))
viz.table([{"captions naming exactly the object": round(caption_ok, 3), **{f"VQA {k}": round(v, 3) for k, v in vqa.items()}}])
mmcourse.log_metric("caption_exact", caption_ok)
assert caption_ok >= 0.9, f">= 90% of captions should name exactly the object (measured {caption_ok:.1%})"
assert vqa["all"] >= 0.85, f"VQA accuracy should reach 85% (measured {vqa['all']:.1%})"

# %% [markdown]
# Never-seen pairs are where the two directions part. Drawing composes: "a green circle" combines
# a colour and a shape it has drawn separately. Reading does not: the words "green circle" never
# followed each other in its training captions, and a language model that has seen only the 24
# other pairs prefers one of them (the zoo's measurement):

# %%
gpt_metrics = zoo.meta("unified-shapes")["metrics"]
viz.table([{"pairs": split, "drawn right": gpt_metrics[f"draw_{split}_pair_w0"],
            "captions exact": gpt_metrics[f"caption_exact_{split}"], "VQA": gpt_metrics[f"vqa_all_{split}"],
            "VQA shape": gpt_metrics[f"vqa_shape_{split}"]} for split in ("seen", "unseen")])
assert gpt_metrics["draw_unseen_pair_w0"] >= 0.8, f"drawing should compose: {gpt_metrics['draw_unseen_pair_w0']}"
assert gpt_metrics["caption_exact_unseen"] < gpt_metrics["caption_exact_seen"] - 0.1, (
    f"reading never-seen pairs should be clearly worse: {gpt_metrics['caption_exact_unseen']}")

# %% [markdown]
# **What the KV cache buys.** Drawing one image is 65 decoding steps. Without a cache every step
# re-reads the whole sequence; with one, each step reads one new token and the keys and values of
# the others come from memory (the test suite checks that both give the same ids):

# %%
prompts = [sequences.draw_prompt(vocab, "a red circle")] * 8


def decode_without_cache(model, prompts, steps=65):
    ids = torch.tensor(prompts)
    for n in range(steps):
        with torch.no_grad():
            logits = model(input_ids=ids.to(cfg.device)).logits[:, -1].float().cpu()
        state = torch.full((len(ids),), n if n < 64 else 64)
        logits = logits.masked_fill(~sampling.modality_mask(vocab, state), float("-inf"))
        ids = torch.cat([ids, logits.argmax(-1, keepdim=True)], 1)
    return ids


start = time.perf_counter()
slow = decode_without_cache(gpt, prompts)
seconds_without = time.perf_counter() - start
start = time.perf_counter()
fast = sampling.generate(gpt, vocab, prompts, max_new_tokens=65)
seconds_with = time.perf_counter() - start
print(f"8 images, greedy: {seconds_without:.2f} s without a cache, {seconds_with:.2f} s with one")
assert slow[:, len(prompts[0]):].tolist() == fast, "cached and uncached decoding should pick the same ids"

# %% [markdown]
# ## 4. Sampling images: temperature, top-k, guidance
#
# Greedy decoding draws the same picture every time. Sampling draws from softmax(ℓ/T): a low
# temperature T sharpens the distribution (faithful, repetitive), a high one flattens it (varied,
# sloppy); top-k sampling keeps only the k most likely ids. The table (from the zoo's recipe:
# 8 images for each of the 24 seen prompts, no guidance) scores correctness (the classifier reads
# the requested pair), diversity (`spread`: the mean cosine distance between the classifier's
# features of two images drawn for the same prompt) and the Fréchet distance of those features
# to real scenes (FID's formula, chapter 05):

# %%
sampling_rows = [{"temperature": t, "top-k": k or "all", **{m: gpt_metrics[f"sample_t{t:g}_k{k or 0}_{m}"]
                  for m in ("pair", "spread", "frechet")}}
                 for t, k in zoo.meta("unified-shapes")["recipe"]["eval"]["sampling"]]
viz.table(sampling_rows)
by_t = {(r["temperature"], r["top-k"]): r for r in sampling_rows}
assert by_t[(0.5, "all")]["spread"] < by_t[(1.5, "all")]["spread"], f"hotter should vary more: {by_t}"
assert by_t[(0.5, "all")]["pair"] > by_t[(1.5, "all")]["pair"], f"colder should be more faithful: {by_t}"

# %% [markdown]
# **Classifier-free guidance for an autoregressive model.** The trick of chapter 05 carries over
# to logits (Parti, Yu et al. 2022, §3; Janus-Pro does the same): run each image twice, with its
# caption and with the caption dropped, and extrapolate the next-token logits away from the
# unconditional ones, ℓ = ℓ_c + w (ℓ_c − ℓ_u). The zoo's sweep, temperature 1, 8 images per prompt,
# plain and with the plausibility constraint (α = 0.1, below):

# %%
viz.show_source(sampling.guided_logits)
guidance_rows = [{"w": w, **{f"{split} {m}{tag}": gpt_metrics.get(f"draw_{split}_{m}_w{w}{key}", gpt_metrics[
    f"draw_{split}_{m}_w{w}"]) for split in ("seen", "unseen") for m in ("pair", "spread")
    for tag, key in (("", ""), (" plausible", "_plausible"))}} for w in (0, 1, 2, 4, 8)]
viz.table(guidance_rows)
plain, kept = {r["w"]: r["seen pair"] for r in guidance_rows}, {r["w"]: r["seen pair plausible"] for r in guidance_rows}
assert plain[8] < plain[0], f"plain guidance at w = 8 should break the drawings: {plain}"

# %% [markdown]
# Plain guidance helps a little at w = 1 and then *breaks* the drawings: at w = 8 the classifier
# recognises far fewer of them than without guidance, and their spread grows. The reason is in the
# formula. Where the model is sure (most of the 64 codes: background), the two runs agree on the
# likely ids, but the logits of *unlikely* ids differ between them by chance, and w multiplies
# that difference; with 64 draws per image, some junk id is eventually lifted to the top. The fix
# restricts guidance to ids the conditional model finds plausible: those whose probability is at
# least α times the most likely one's (the adaptive plausibility constraint of contrastive
# decoding, Li et al. 2023; α = 0.1 here). Then guidance does what it did in chapter 05: the
# prompt wins more often, and the drawings vary less (the spread columns).

# %%
viz.show_source(sampling.plausible)
best_w = max((1, 2, 4, 8), key=lambda w: kept[w])
spread_kept = {r["w"]: r["seen spread plausible"] for r in guidance_rows}
print(f"with the constraint, best w = {best_w}: {kept[best_w]:.0%} drawn right (no guidance: {kept[0]:.0%})")
assert kept[best_w] > kept[0], f"guidance among plausible ids should help the prompt win: {kept}"
assert spread_kept[best_w] < spread_kept[0], f"... at some cost in diversity: {spread_kept}"

# %% [markdown]
# Live, on the same seen prompts (4 each): no guidance, plain guidance and guidance among the
# plausible ids, at the weight that was best for the latter.

# %%
settings = {"no guidance": {}, f"plain, w = {best_w}": {"guidance": float(best_w)},
            f"plausible, w = {best_w}": {"guidance": float(best_w), "plausibility": 0.1}}
live_guidance = {name: unified.draw_scores(gpt, vocab, vq, judge, SEEN_PAIRS, per_pair=4, seed=SEED, **kw)
                 for name, kw in settings.items()}
viz.table([{"sampling": k, **{m: round(v, 3) for m, v in s.items()}} for k, s in live_guidance.items()])
live_pair = {k: s["pair"] for k, s in live_guidance.items()}
mmcourse.log_metric("live_guided_pair_accuracy", live_pair[f"plausible, w = {best_w}"])
assert live_pair[f"plausible, w = {best_w}"] > live_pair["no guidance"], f"guidance should help: {live_pair}"

# %% [markdown]
# ## 5. Training strategy: staged or joint?
#
# A common recipe trains in stages: each modality alone first (captions as plain text; images
# as plain code sequences), then alignment (text → image and image → caption), then the
# instruction mix with questions. The zoo's recipe ran that schedule (2,000 + 2,500 + 2,500
# steps) against one joint mix of the three tasks for the same 7,000 steps, same model and data:

# %%
def strategy_row(name, prefix):
    return {"schedule": name, "draw (seen)": gpt_metrics[f"{prefix}draw_seen_pair_w0"],
            "captions exact": gpt_metrics[f"{prefix}caption_exact_seen"], "VQA": gpt_metrics[f"{prefix}vqa_all_seen"]}


strategy = [strategy_row("joint mix, 7,000 steps", ""), strategy_row("staged 2,000 + 2,500 + 2,500", "staged_")]
viz.table(strategy)
joint, staged = strategy

# %% [markdown]
# For the same 7,000 steps, the joint mix answers and draws better; captions come out about the
# same. Staging spends 2,000 steps on text alone and images alone and 2,500 without a single
# question, so the tasks measured here simply get fewer steps. Staging pays off where this
# experiment cannot show it: when the unimodal data is far larger than the paired data (web text,
# unlabelled images) and each stage can use it, as in the seed's per-modality pretraining.

# %%
assert joint["VQA"] > staged["VQA"], f"the joint mix should answer better for the same steps: {strategy}"
assert joint["draw (seen)"] > staged["draw (seen)"], f"the joint mix should draw better for the same steps: {strategy}"
assert abs(joint["captions exact"] - staged["captions exact"]) < 0.03, f"captions should be about the same: {strategy}"

# %% [markdown]
# ## 6. One model for everything, against the specialists
#
# Chapter 05's `ldm-shapes` only draws; chapter 03's `vlm-shapes` only reads. Drawing is
# compared on the same prompts (4 images per seen prompt; no guidance for the unified model;
# w = 2 and DDPM with 50 steps for the diffusion model, its best setting in chapter 05). Reading
# cannot be compared on the same scenes: `vlm-shapes` was trained and tested on scenes of 1–4
# *small* objects, one per quadrant, and single large objects are outside what it has seen (it
# answers about a third of our questions right), so its row shows its own stored test results on
# its own, harder scenes. Parameters are counted; "trained on" is optimiser steps × batch of each
# model's own recipe (each also reuses earlier zoo parts: the VQ-VAE; the VAE and CLIP text
# tower; the CLIP image tower and a pretrained language model).

# %%
ldm = zoo.pipeline("ldm-shapes", cfg)  # chapter 05's TextToImage: UNet, VAE, CLIP text tower, schedule
ldm_draw = diffusion.prompt_scores(ldm, judge, SEEN_PAIRS, per_pair=4, steps=50, guidance=2.0, sampler="ddpm",
                                   seed=SEED)["pair"]
vlm_metrics = zoo.meta("vlm-shapes")["metrics"]


def n_params(*models):
    return sum(p.numel() for m in models for p in m.parameters())

# %%
specialists = [
    {"model": "unified-shapes (one decoder)", "parameters": n_params(gpt, vq), "trained on": "7,000 x 32",
     "draw": draws["seen pairs"]["pair"], "captions exact": caption_ok, "VQA": vqa["all"]},
    {"model": "ldm-shapes (ch. 05, draws)", "parameters": n_params(ldm.unet, ldm.vae, ldm.text_encoder),
     "trained on": "5,000 x 128", "draw": ldm_draw},
    {"model": "vlm-shapes (ch. 03, reads; its own 1-4-object test scenes)", "parameters": n_params(zoo.load(
        "vlm-shapes", cfg)), "trained on": "300 + 12,000 x 64", "captions exact": vlm_metrics["caption_accuracy"],
     "VQA": vlm_metrics["vqa_all"]},
]
viz.table(specialists)

# %% [markdown]
# At about the same size, one decoder for everything draws a few points less often right than
# the diffusion specialist trained on 4 times as many images per step, and reads single objects
# as well as the specialist reads its harder scenes. What it gains is one vocabulary, one loss
# and one sampling loop for every direction, and a model that can answer about an image it drew.

# %%
assert ldm_draw > draws["seen pairs"]["pair"], f"the diffusion specialist should draw more often right: {specialists}"

# %% [markdown]
# ## 7. The design space
#
# The tiny model is *early fusion on discrete tokens*. The systems you will meet at work make
# other choices, each giving something up:
#
# | design | example | how images go in / out | what it gives up |
# |---|---|---|---|
# | early fusion, discrete tokens | Chameleon (2024): 8,192 VQ codes in a 65,536-id vocabulary, 1,024 tokens per 512² image | VQ codes in, VQ codes out | image quality capped by the tokenizer; long sequences; the paper needs query-key norm to train stably (§2.3) |
# | adapter into an LLM | LLaVA (Liu et al. 2023; chapter 03) | continuous vision features in, nothing out | cannot draw |
# | decoupled encoders | Janus / Janus-Pro (Wu et al. 2024; Chen et al. 2025): SigLIP features for understanding, a 16,384-code VQ tokenizer for generation, 384 px | features in, VQ codes out | two visual representations to train and keep |
# | diffusion inside the transformer | Transfusion (Zhou et al. 2024) | continuous patches in and out, next-token loss on text + diffusion loss on images | two losses, many denoising passes per image |
#
# On the GenEval text-to-image benchmark, Chen et al. (2025, Janus-Pro) report overall scores of
# 0.39 for Chameleon-7B, 0.63 for Transfusion, 0.61 for Janus and 0.73 / 0.80 for Janus-Pro 1B / 7B.
#
# ## 8. The released models (full profile)
#
# With `PROFILE = "full"` on a GPU, Janus-Pro-1B (Chen et al. 2025; about 2B parameters, 4.2 GB
# in bf16, so a T4 holds it; licence: MIT on the hub, the DeepSeek Model License in its
# repository) runs through transformers' `JanusForConditionalGeneration`: it describes a photo
# through its SigLIP encoder and draws from a caption through its VQ tokenizer, 576 codes per
# 384² image. Its `generate(..., generation_mode="image")` is this chapter's loop: a second,
# unconditional copy of each prompt (every token but `<s>` and `<begin_of_image>` replaced by
# padding), guidance on the logits with `guidance_scale` = 1 + w (ours is w), one code per step
# from a KV cache, then the VQ decoder.

# %%
hub.table("06");

# %%
if cfg.is_full:
    spec = hub.spec("janus-pro-1b")
    janus = hub.load(spec.name, cfg)
    janus_processor = transformers.JanusProcessor.from_pretrained(spec.repo_id)
    photo = mmcourse.data.real.photo("chelsea")
    messages = [{"role": "user", "content": [{"type": "image", "image": photo.image},
                                             {"type": "text", "text": "Describe the image in one sentence."}]}]
    inputs = janus_processor.apply_chat_template(messages, add_generation_prompt=True, tokenize=True,
                                                 return_dict=True, return_tensors="pt").to(cfg.device)
    inputs["pixel_values"] = inputs["pixel_values"].to(janus.dtype)
    out = janus.generate(**inputs, max_new_tokens=40, do_sample=False, generation_mode="text")
    print(photo.name, "->", janus_processor.decode(out[0, inputs["input_ids"].shape[1]:], skip_special_tokens=True))
else:
    print("tiny profile: Janus-Pro-1B needs PROFILE='full'; sections 3-4 ran the same loop on our model")

# %%
if cfg.is_full:
    prompt = janus_processor.apply_chat_template([{"role": "user", "content": "a red apple on a wooden table"}],
                                                 add_generation_prompt=True)
    batch = janus_processor(text=[prompt], generation_mode="image", return_tensors="pt").to(cfg.device)
    codes = janus.generate(**batch, generation_mode="image", do_sample=True, guidance_scale=5.0,
                           num_return_sequences=2)  # (2, 576) codes of a 16,384-entry codebook
    pictures = (janus.decode_image_tokens(codes).float().permute(0, 3, 1, 2) * 0.5 + 0.5).clamp(0, 1).cpu()
    viz.image_grid(list(pictures), [f"{codes.shape[1]} codes, guidance_scale 5"] * 2)

# %% [markdown]
# aMUSEd (Patil et al. 2024, an open reproduction of MUSE) is the *non-autoregressive* contrast: a
# masked transformer predicts all masked codes at once and unmasks them over 12 steps instead of
# one code per step. Its tokenizer, a VQ-GAN with 8,192 codes at f = 16 (a 256² photo becomes
# 16 × 16 = 256 tokens), is a diffusers `VQModel`, so `image_to_codes` / `codes_to_image` run it
# unchanged; it works on images in [0, 1] (`signed=False`). (diffusers 0.42 keeps the aMUSEd
# pipelines under `pipelines/deprecated`.)

# %%
if cfg.is_full:
    amused_vq = hub.load("amused-vq", cfg)
    pixels = torch.from_numpy(np.asarray(photo.image.resize((256, 256)), dtype=np.float32) / 255).permute(2, 0, 1)[None]
    photo_codes = image_to_codes(amused_vq, pixels, signed=False)  # (1, 16, 16) ids of 8,192 codes
    rebuilt = codes_to_image(amused_vq, photo_codes, signed=False)
    print(f"{photo_codes.numel()} tokens for a 256x256 photo; {photo_codes.unique().numel()} distinct codes")
    viz.image_grid([pixels[0], rebuilt[0]], ["photo", f"decoded from {photo_codes.numel()} codes"])
else:
    print("tiny profile: aMUSEd's VQ tokenizer needs PROFILE='full'; section 1 ran the same VQModel class")

# %% [markdown]
# ## 9. Play with it
#
# Type a caption (six colours, five shapes; try a pair it never saw, like "a green circle"; turn
# the plausibility constraint off at w = 8) and watch the 64 image tokens arrive row by row: each
# grid decodes the codes so far, with the rest left at the background code. Then pick a scene and let the same model read it.

# %%
background = int(test_codes.flatten().mode().values)  # the most common code: empty background


def draw_tokens(caption="a red circle", w=2.0, plausible_only=True, temperature=1.0, seed=0):
    codes = unified.draw_codes(gpt, vocab, [caption], guidance=float(w), temperature=float(temperature),
                               plausibility=0.1 if plausible_only else None, seed=int(seed))[0]
    stages = []
    for n in (8, 16, 32, 48, 64):
        partial = torch.full((64,), background)
        partial[:n] = codes.flatten()[:n]
        stages.append(codes_to_image(vq, partial.view(1, 8, 8))[0])
    return viz.image_grid(stages, [f"{n} of 64 tokens" for n in (8, 16, 32, 48, 64)])


mmcourse.widgets.demo(draw_tokens, {"caption": "a red circle", "w": (0.0, 8.0, 0.5), "plausible_only": True,
                                    "temperature": (0.3, 2.0, 0.1), "seed": (0, 9, 1)},
                      examples=[{"caption": "a green circle"}, {"caption": "a green circle", "plausible_only": False,
                                                               "w": 8.0}]);

# %%
def read_scene(index=0, question="what colour is the object?"):
    codes = read_codes[int(index)][None]
    caption = unified.read(gpt, vocab, codes, ["describe :"])[0]
    answer = unified.read(gpt, vocab, codes, [f"{question} answer :"])[0]
    return viz.image_grid([read_scenes.images[int(index)], codes_to_image(vq, codes)[0]],
                          [f"caption: {caption}", f"{question} {answer}"])


mmcourse.widgets.demo(read_scene, {"index": (0, 299, 1), "question": "what colour is the object?"},
                      examples=[{"index": 3}]);

# %% [markdown]
# ## Summary
#
# * A VQ-VAE turns an image into a grid of integers: nearest-codebook lookup, a straight-through
#   gradient, and eq. 3's codebook and commitment terms; dead codes waste a codebook unless
#   something (here restarts) revives them.
# * Image codes at an offset after the text ids, with `<boi>`/`<eoi>` around them, make one
#   vocabulary; a document of words and pictures is one sequence of ids.
# * One off-the-shelf causal LM trained on one stream of tasks draws, captions and answers;
#   a modality mask keeps every sample well formed and the KV cache keeps it fast.
# * Guidance on logits amplifies chance differences in implausible ids too; restricted to the
#   ids the conditional model finds plausible, it makes drawings follow the prompt more often,
#   at some cost in variety. Temperature and top-k trade faithfulness against variety directly.
# * For the same steps, one joint mix of tasks beat the staged schedule here.
# * Drawing composes to never-seen colour–shape pairs; reading them back does not.
#
# **Next:** chapter 07 checks every metric of this course against the reference
# implementations and scores every zoo model with confidence intervals.
