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
# # Chapter 03 — LLaVA and vision-language models: image tokens into a language model
#
# [![Open In Colab](https://colab.research.google.com/assets/colab-badge.svg)](https://colab.research.google.com/github/mmcourse/mmcourse/blob/main/chapters/03_llava.ipynb)
#
# A language model reads tokens. LLaVA (Liu et al., 2023, "Visual Instruction Tuning")
# lets it read images with a simple trick: turn the image into a few vectors that *look
# like* word embeddings, and put them in the prompt where the word `<image>` was. A frozen
# vision encoder makes the vectors, a small MLP (the **projector**) translates them, and
# the language model does the rest.
#
# **In this chapter you will**
# 1. meet a tiny "pretrained" language model (a transformers `LlamaForCausalLM`) that
#    answers questions about scenes *described in words*;
# 2. build LLaVA from its parts: frozen vision tower, projector, the `<image>` splice with
#    label masking, a chat template, generation with a KV cache;
# 3. train it in LLaVA's two stages and measure what each stage buys;
# 4. check it equals transformers' `LlavaForConditionalGeneration` + `LlavaProcessor`;
# 5. compare connectors (MLP vs Q-Former queries), a "no LLM" ViLT baseline, and LoRA.

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
STAGE1_STEPS = 300  # live stage 1 (projector only), about 4 s on 2 CPU cores
STAGE2_STEPS = 500  # live stage 2 (projector + LM), about 10 s; the zoo model ran 12,000
POPE_SCENES = 500  # scenes probed for hallucinated objects
CONNECTOR_STEPS = 200  # stage-2 steps for each connector, and for the ViLT baseline
LORA_STEPS = 300

# %%
import copy
import time
import warnings

import matplotlib.pyplot as plt
import torch
import transformers

import mmcourse
from mmcourse import chat, compat, hub, instruct, viz, zoo
from mmcourse.data import make_qa, make_shapes
from mmcourse.data.instructions import IGNORE_INDEX, encode_conversation, scene_words, shapes_chat_tokenizer
from mmcourse.metrics import vqa
from mmcourse.models import count_parameters
from mmcourse.models.vlm import VLM, Projector, splice_image_features, to_llava

cfg = mmcourse.setup(PROFILE, seed=SEED)

# %% [markdown]
# ## 1. A tiny "pretrained" language model
#
# LLaVA starts from a language model that already reads and writes well (Vicuna, a
# fine-tuned LLaMA). Ours is a transformers `LlamaForCausalLM`, the class that loads real
# Llama checkpoints, built from a tiny config and pretrained on the course's text only:
# scenes **described in words** ("red circle top left , blue cross bottom right"),
# questions about them, and captions. It never saw a pixel. The zoo entry `lm-shapes`
# holds it; `zoo.train("lm-shapes")` re-runs its recipe (3,000 steps, about a minute).

# %%
tok = shapes_chat_tokenizer()
lm = zoo.load("lm-shapes")
print(f"{type(lm).__name__}: {sum(p.numel() for p in lm.parameters()) / 1e3:.0f}k parameters, "
      f"vocabulary of {len(tok)} words; recipe: {zoo.meta('lm-shapes')['recipe']['train']}")

scene = make_shapes(1, objects=3, seed=SEED + 3)
words = scene_words(scene.objects(0))
prompts = [chat.build_prompt([chat.user(f"{words} {q}", image=False)], add_generation_prompt=True)
           for q in ["how many objects are there?", f"what colour is the {scene.objects(0)[0].shape}?"]]
enc = tok(prompts, return_tensors="pt", padding=True, padding_side="left", add_special_tokens=False)
out = lm.generate(**enc, max_new_tokens=4, do_sample=False)  # the library's generate
for p, a in zip(prompts, tok.decode(out[:, enc.input_ids.shape[1]:], skip_special_tokens=True)):
    print(f"{p!r} -> {a.strip()!r}")

text_test = make_shapes(300, objects=(1, 4), seed=SEED + 4)
text_acc = instruct.text_vqa_accuracy(lm, tok, text_test, make_qa(text_test, seed=SEED + 4))
print(f"answers about scenes written in words: {text_acc:.1%} exact match")
assert text_acc >= 0.5, f"the text LM should answer about half the questions about scenes in words; {text_acc:.1%}"

# %% [markdown]
# A weak reader, but a reader. What it cannot do is *see*: the rest of the chapter gives
# it eyes.
#
# ## 2. LLaVA's recipe
#
# 1. A frozen **vision tower** turns an image into N patch features, ``Z_v`` (N × D_v).
#    LLaVA-1.5 uses CLIP ViT-L/14 at 336 px: 576 patches of width 1024, taken from the
#    second-to-last layer.
# 2. A **projector** maps each patch into the word-embedding space: ``H_v = W · Z_v``
#    (LLaVA's eq. 1). LLaVA-1.5 replaced the single linear layer by a two-layer MLP,
#    `mlp2x_gelu`.
# 3. The prompt holds a placeholder `<image>`. The **splice** replaces it by the N
#    projected vectors. The language model now reads a sequence in which N "words" are
#    pieces of an image.
# 4. The loss is next-token cross-entropy on the assistant's answer only (eq. 3).
#    Every other position, the image included, gets the label `IGNORE_INDEX` (−100).
#
# Our vision tower is chapter 02's `clip-shapes` CNN, frozen. Its last feature map is a
# 4×4 grid. We merge each 2×2 block into one token (SmolVLM and InternVL call this
# "pixel shuffle"), which gives 4 tokens of width 256, one per quadrant.

# %%
vlm = instruct.new_vlm(zoo.load("clip-shapes"), zoo.load("lm-shapes"))  # frozen tower, fresh projector, the LM
image = make_shapes(1, objects=(2, 4), seed=SEED + 5).images
with torch.no_grad():
    patches = vlm.vision_tower(image)
print(f"image {tuple(image.shape)} -> patch tokens {tuple(patches.shape)}  (batch, tokens, width)")
viz.show_source(Projector);

# %%
llava15 = Projector(1024, 4096)  # LLaVA-1.5-7B: CLIP ViT-L width 1024 -> Vicuna width 4096
n_llava = sum(p.numel() for p in llava15.parameters())
n_ours = sum(p.numel() for p in vlm.multi_modal_projector.parameters())
print(f"LLaVA-1.5 projector: {n_llava / 1e6:.2f}M parameters; ours (256 -> 64 -> 64): {n_ours / 1e3:.1f}k")
assert n_llava == 20_979_712, f"LLaVA-1.5's mlp2x_gelu has 20.98M parameters (builder.py); ours {n_llava:,}"
del llava15

# %% [markdown]
# ## 3. The chat template, the labels and the splice
#
# A conversation is a list of messages. The **chat template** turns it into the one
# string the model was trained on (LLaVA-1.5 uses Vicuna's `USER: ... ASSISTANT: ...</s>`).
# Ours is a Jinja template stored in the tokenizer, so transformers' `apply_chat_template`
# renders it; `chat.build_prompt` does the same in plain Python.

# %%
conversation = [chat.user("what colour is the circle?"), chat.assistant("red"),
                chat.user("where is the red circle?", image=False), chat.assistant("top left")]
prompt = chat.build_prompt(conversation)
print(prompt)
assert prompt == tok.apply_chat_template(conversation, tokenize=False), "build_prompt must render the Jinja template"

ids, labels = encode_conversation(tok, conversation)
viz.table([{"token": t, "label": "—" if lab == IGNORE_INDEX else tok.convert_ids_to_tokens(lab)}
           for t, lab in zip(tok.convert_ids_to_tokens(ids), labels)][:14]);
learned = [tok.convert_ids_to_tokens(lab) for lab in labels if lab != IGNORE_INDEX]
print("the loss sees only:", learned)
assert learned == ["red", "</s>", "top", "left", "</s>"], f"only the answers and their </s> carry labels: {learned}"

# %% [markdown]
# Only the assistant's words (and the `</s>` that ends each answer, so the model learns
# when to stop) carry labels. Now the splice: the one `<image>` token becomes the 4 image
# vectors, and their labels are `IGNORE_INDEX` too.

# %%
ids_t, labels_t = torch.tensor([ids]), torch.tensor([labels])
embeds = vlm.language_model.get_input_embeddings()(ids_t)
with torch.no_grad():
    feats = vlm.image_features(image)  # (1, 4, 64): projected patches
spliced, spliced_labels, mask = splice_image_features(embeds, ids_t, feats, vlm.config.image_token_id, labels_t)
print(f"tokens {tuple(embeds.shape)} + image {tuple(feats.shape)} -> sequence {tuple(spliced.shape)}")
assert spliced.shape[1] == ids_t.shape[1] - 1 + feats.shape[1], "one <image> token becomes 4 positions"
assert torch.equal(spliced[0, 2:6], feats[0]), "positions 2-5 hold the image features"
assert (spliced_labels[0, 2:6] == IGNORE_INDEX).all(), "the image positions carry no label"

# %% [markdown]
# Mistakes in the prompt are common, so the model checks its inputs and names the
# argument at fault:

# %%
def error_of(fn):
    try:
        fn()
    except (ValueError, TypeError) as err:
        return f"{type(err).__name__}: {err}"
    return "no error"


no_image_ids = tok(["USER: what colour is the circle? ASSISTANT:"], return_tensors="pt").input_ids
errors = {
    "prompt without <image>": error_of(lambda: vlm(no_image_ids, image)),
    "2 images, 1 <image> token": error_of(lambda: vlm(ids_t, torch.cat([image, image]))),
    "image of the wrong size": error_of(lambda: vlm(ids_t, torch.rand(1, 3, 64, 64))),
    "empty question": error_of(lambda: vlm.answer(image, [" "])),
}
for case, message in errors.items():
    print(f"{case:28s} {message}")
for case, message in errors.items():
    assert message.startswith(("ValueError", "TypeError")), f"{case}: expected a clear error, got {message}"

# %% [markdown]
# **The loss, by hand.** The language model's output at position t is its guess for token
# t + 1. So the logits lose their last position and the labels their first, and only the
# positions whose label is not `IGNORE_INDEX` count (LLaVA's eq. 3: the answer tokens):

# %%
with torch.no_grad():
    logits = vlm.language_model(inputs_embeds=spliced, attention_mask=mask).logits  # (1, L, vocab)
    next_logits, next_labels = logits[:, :-1], spliced_labels[:, 1:]  # position t predicts token t + 1
    keep = next_labels != IGNORE_INDEX  # the answer tokens and their </s>
    log_probs = next_logits.log_softmax(-1)[keep]  # (answer tokens, vocab)
    by_hand = -log_probs.gather(1, next_labels[keep][:, None]).mean()
    package = vlm.loss(ids_t, labels_t, torch.ones_like(ids_t), vlm.vision_tower(image))
print(f"next-token loss on {int(keep.sum())} answer tokens: by hand {by_hand:.4f}, VLM.loss {package:.4f}")
assert torch.allclose(by_hand, package, atol=1e-6), "the hand-written loss must equal VLM.loss"

# %% [markdown]
# ## 4. Two-stage training
#
# **Stage 1, feature alignment.** Freeze everything but the projector and train on image–
# caption pairs ("describe the image." → the caption). The language model is not allowed
# to change, so the projector must learn to produce vectors the LM already understands.
# LLaVA-1.5 did this on 558K captioned images (LCS-558K); only the 20.98M projector
# parameters train.
#
# **Stage 2, visual instruction tuning.** Unfreeze the language model as well and train
# on instructions: here questions about colour, shape, count, position and yes/no, mixed
# with the captions so that describing is not forgotten. The vision tower stays frozen.
# LLaVA-1.5 used a 665K-conversation mix (`llava_v1_5_mix665k.json`, described in the
# LLaVA README and trained by `scripts/v1_5/finetune.sh`).
#
# **Where instruction data comes from.** LLaVA v1's 158K instructions
# (`LLaVA-Instruct-158K`: 58K conversations, 23K detailed descriptions, 77K complex
# reasoning) were written by a *text-only* GPT-4: it was shown each COCO image's captions
# and object boxes as text, never the image, and asked to write questions and answers
# (LLaVA paper §3 and `docs/Data.md`). Our stage-2 data is made the same way in spirit:
# generated from the scene's description (`mmcourse.data.words`), not by looking at pixels.
#
# We score answers by **exact match** after the VQA normalisation (lower case, no
# punctuation or articles, number words as digits), and captions by whether they name
# exactly the scene's objects (colour and shape, any wording or order). Benchmarks with
# several human answers per question use the official **VQA accuracy** instead
# (Antol et al., 2015; `GT-Vision-Lab/VQA vqaEval.py`): for each of the 10 human answers
# left out, min(1, matching answers among the other 9 / 3), averaged over the 10. An
# answer that 3 of 10 humans gave scores 0.9, not 0.3:

# %%
humans = ["red"] * 3 + ["orange"] * 7
official = {answer: vqa.vqa_accuracy(answer, humans) for answer in ("red", "orange", "blue")}
print({a: round(v, 2) for a, v in official.items()}, "(exact match would give red 0 or 1)")
assert round(official["red"], 2) == 0.9, f"3 of 10 humans: each leave-one-out subset gives 1 or 2/3; {official}"
assert official["orange"] == 1.0, f"an answer 7 of 10 humans gave scores 1: {official}"
assert official["blue"] == 0.0, f"an answer no human gave scores 0: {official}"

# %% [markdown]
# Our training set is 4,000 scenes with 1 to 4 objects. The tower is frozen, so each image
# goes through it once and the features are cached.

# %%
data = instruct.shapes_instructions(vlm.vision_tower, tokenizer=tok, n_train=4000, seed=SEED)
print(f"stage 1: {len(data.captions)} captions; stage 2: {len(data.questions)} questions; "
      f"test: {len(data.test_qas)} questions about {len(data.test)} unseen images")

counts = {1: vlm.set_stage(1), 2: vlm.set_stage(2)}
viz.table([{"stage": s, "trainable": f"{c['trainable']:,}", "frozen": f"{c['frozen']:,}",
            "trainable share": f"{c['trainable'] / c['total']:.1%}"} for s, c in counts.items()]);
assert counts[1]["trainable"] == n_ours, "stage 1 trains the projector only"
assert counts[2]["trainable"] > counts[1]["trainable"], "stage 2 trains the language model as well"

# %%
torch.manual_seed(SEED)
h1 = instruct.train_stage(vlm, data, stage=1, steps=STAGE1_STEPS, lr=3e-3, cfg=cfg, seed=SEED)
vlm.cpu()
after_stage1 = instruct.evaluate_vqa(vlm, data)
after_stage1["captions"] = instruct.caption_accuracy(vlm, data, n=100)
print("a caption after stage 1:", vlm.describe(data.test.images[:1])[0])

# %%
h2 = instruct.train_stage(vlm, data, stage=2, steps=STAGE2_STEPS, lr=1e-3, cfg=cfg, seed=SEED)
vlm.cpu()
after_stage2 = instruct.evaluate_vqa(vlm, data)
after_stage2["captions"] = instruct.caption_accuracy(vlm, data, n=100)
fig, axes = plt.subplots(1, 2, figsize=(9, 3))
for ax, h, title in [(axes[0], h1, "stage 1: captions (projector only)"),
                     (axes[1], h2, "stage 2: questions (projector + LM)")]:
    ax.plot(h.loss)
    ax.set(title=title, xlabel="step", ylabel="loss")
plt.tight_layout()
plt.show()
assert h1.final_loss < h1.loss[0], f"stage 1 lowers its loss: {h1.loss[0]:.2f} -> {h1.final_loss:.2f}"
assert h2.final_loss < h2.loss[0] / 2, f"stage 2 halves its loss: {h2.loss[0]:.2f} -> {h2.final_loss:.2f}"

# %% [markdown]
# The same two stages with **stage 2 alone** (a fresh projector, no alignment first) and
# the zoo's `vlm-shapes`, which ran the same recipe for longer (300 + 12,000 steps on 6,000
# scenes, about 5 minutes: `zoo.train("vlm-shapes")`):

# %%
torch.manual_seed(SEED)
vlm_no_stage1 = instruct.new_vlm(zoo.load("clip-shapes"), zoo.load("lm-shapes"))
instruct.train_stage(vlm_no_stage1, data, stage=2, steps=STAGE2_STEPS, lr=1e-3, cfg=cfg, seed=SEED,
                     progress=False)
vlm_no_stage1.cpu()
only_stage2 = instruct.evaluate_vqa(vlm_no_stage1, data)
only_stage2["captions"] = instruct.caption_accuracy(vlm_no_stage1, data, n=100)

# %%
zoo_vlm = zoo.load("vlm-shapes")
zoo_scores = instruct.evaluate_vqa(zoo_vlm, data)
zoo_scores["captions"] = instruct.caption_accuracy(zoo_vlm, data, n=100)
zoo_metrics = zoo.meta("vlm-shapes")["metrics"]
rows = [
    {"model": f"stage 1 only ({STAGE1_STEPS} steps)", **after_stage1},
    {"model": f"stage 1 + 2 ({STAGE1_STEPS} + {STAGE2_STEPS})", **after_stage2},
    {"model": f"stage 2 only ({STAGE2_STEPS})", **only_stage2},
    {"model": "zoo vlm-shapes (300 + 12000)", **zoo_scores},
]
viz.table([{k: (f"{v:.1%}" if isinstance(v, float) else v) for k, v in r.items()} for r in rows]);
# %%
mmcourse.log_metric("vqa_live_stage12", after_stage2["all"])
mmcourse.log_metric("vqa_zoo", zoo_scores["all"])
assert zoo_scores["all"] >= 0.90, f"the zoo VLM answers at least 90% of questions about unseen images: {zoo_scores}"
assert after_stage2["all"] > after_stage1["all"] + 0.2, "instruction tuning (stage 2) is what teaches answering"
assert after_stage2["count"] >= 0.9, f"counting is learned within a few hundred stage-2 steps: {after_stage2}"
assert after_stage1["color"] > 0.5, f"stage 1 alone already answers most colour questions: {after_stage1}"
assert after_stage1["captions"] < 0.3, f"stage 1 alone writes few right captions: {after_stage1}"
assert only_stage2["all"] <= after_stage2["all"] + 0.03, f"stage 2 alone is not better than 1 + 2: {only_stage2}"

# %% [markdown]
# What the table says:
#
# * **Stage 1 alone** already answers some colour questions, with the language model
#    untouched: it learned to answer about scenes written in words, and the projector has
#    made the image readable like those words. Captions of several objects and the other
#    question kinds stay poor.
# * **Stage 2** is where answering is learned. Counting comes first, within a few hundred
#    steps. Questions that need the model to *find* one object ("what shape is the green
#    object?") come much later: the LM must learn to match a word in the question to one
#    of the image tokens. The zoo model's curve below shows it taking thousands of steps.
# * **Stage 2 without stage 1** ends close to, but not above, stage 1 + 2 at this
#    budget: with 4 image tokens and a 21k-parameter projector, alignment is cheap to
#    learn during stage 2. At scale it matters more: the LLaVA paper's ablations (§5.2)
#    report a clear drop on ScienceQA when the pretraining stage is skipped.

# %% [markdown]
# The zoo model's learning curve during its 12,000 stage-2 steps (measured by its recipe
# on 400 test questions and stored with the checkpoint):

# %%
curve = {int(k.rsplit("_", 1)[1]): v for k, v in zoo_metrics.items() if k.startswith("vqa_at_step_")}
plt.figure(figsize=(5, 3))
plt.plot(list(curve), list(curve.values()), marker="o")
plt.axhline(0.9, ls="--", c="gray")
plt.gca().set(xlabel="stage-2 step", ylabel="VQA exact match", title="vlm-shapes, stage 2", ylim=(0, 1))
plt.show()
first_90 = min(s for s, v in curve.items() if v >= 0.9)
print(f"first evaluation at or above 90%: step {first_90}")
assert curve[1000] < 0.85, f"after 1,000 stage-2 steps the zoo model is still below 85%: {curve}"
assert first_90 >= 2000, f"finding the object a question is about takes thousands of steps: {curve}"

# %% [markdown]
# ## 5. What freezing saves
#
# Stage 1 trains 21k parameters, stage 2 all of the LM as well. A stage-1 step is *not*
# much faster: the projector sits at the bottom of the network, so its gradient still
# flows back through every LM layer; only the weight gradients of the frozen layers and
# their optimizer updates are skipped. The real saving is **memory**. A trainable
# parameter costs 16 bytes: its weight, its gradient and AdamW's two moments (4 bytes each
# in our fp32 training; in mixed precision a 2-byte weight, a 2-byte gradient, a 4-byte
# fp32 master copy and two 4-byte moments, the ZeRO paper's count, Rajbhandari et al.,
# 2020, §3.1). A frozen parameter costs only its weight: 4 bytes here, 2 in fp16. Both
# columns below count the same two things, trainable state plus frozen weights.

# %%
timing = {}
for stage in (1, 2):
    probe = copy.deepcopy(zoo_vlm)
    h = instruct.train_stage(probe, data, stage=stage, steps=60, lr=1e-4, cfg=cfg, progress=False)
    timing[stage] = h.seconds / h.steps * 1000
    del probe
print(f"time per step: stage 1 {timing[1]:.1f} ms, stage 2 {timing[2]:.1f} ms ({timing[2] / timing[1]:.2f}x)")
assert 0.5 < timing[2] / timing[1] < 2.5, f"a stage-1 step is not much faster than a stage-2 step: {timing}"

# %%
TRAINABLE_BYTES, FROZEN_FP32, FROZEN_FP16 = 16, 4, 2
vision_7b, projector_7b, total_7b = 0.30e9, 20.98e6, 7.06e9  # CLIP ViT-L/14, mlp2x_gelu, LLaVA-1.5-7B
llm_7b = total_7b - vision_7b - projector_7b  # Vicuna-7B: about 6.74B
memory = []
for stage, trainable_7b in [(1, projector_7b), (2, projector_7b + llm_7b)]:
    ours_t, ours_f = counts[stage]["trainable"], counts[stage]["frozen"]
    memory.append({"stage": stage, "trainable (ours)": f"{ours_t:,}",
                   "memory (ours, fp32)": f"{(ours_t * TRAINABLE_BYTES + ours_f * FROZEN_FP32) / 1e6:.2f} MB",
                   "trainable (7B)": f"{trainable_7b / 1e9:.2f}B",
                   "trainable state (7B)": f"{trainable_7b * TRAINABLE_BYTES / 1e9:.1f} GB",
                   "frozen weights (7B, fp16)": f"{(total_7b - trainable_7b) * FROZEN_FP16 / 1e9:.1f} GB"})
viz.table(memory);
print(f"stage 1 still holds the frozen language model: {llm_7b * FROZEN_FP16 / 1e9:.1f} GB in fp16")

# %% [markdown]
# Stage 1 of a 7B LLaVA fits on one large GPU: 0.3 GB of trainable state on top of
# 14 GB of frozen weights (13.5 GB of them the language model). Stage 2 needs about 108 GB
# for the trainable state alone, which is why LLaVA-1.5 trains it on 8 A100s with
# DeepSpeed's ZeRO sharding, and why LoRA (section 10) exists.

# %% [markdown]
# ## 6. Talking to it: generation with a KV cache, and chat
#
# Generation feeds the model its own output one token at a time: **greedy decoding**
# takes the most likely next token, appends it and goes on until `</s>`. Without a cache
# every step re-reads the whole sequence; with the **KV cache** the first step reads the
# prompt, and each later step feeds only the newest token and reuses the keys and values
# of all the ones before. Here is the loop (steps 1-4 in the comments):

# %%
viz.show_source(VLM.generate);

# %% [markdown]
# Same tokens, less work:

# %%
from mmcourse.data.instructions import DESCRIBE, generation_prompts  # noqa: E402

gen_ids, gen_mask = generation_prompts(tok, [DESCRIBE] * 200)
speed = {}
outputs = {}
for use_cache in (True, False):
    t0 = time.perf_counter()
    outputs[use_cache] = zoo_vlm.generate(gen_ids, data.test.images[:200], attention_mask=gen_mask,
                                          max_new_tokens=24, use_cache=use_cache)
    speed[use_cache] = time.perf_counter() - t0
print(f"200 captions: {speed[True]:.2f} s with the cache, {speed[False]:.2f} s without "
      f"({speed[False] / speed[True]:.1f}x)")
assert torch.equal(outputs[True], outputs[False]), "the KV cache must not change a single token"

# %%
def two_turns(i):
    conversation = [chat.user("how many objects are there?")]
    first = zoo_vlm.chat(data.test.images[i], conversation)
    conversation += [chat.assistant(first), chat.user(data.test_qas[2 * i].question, image=False)]
    second = zoo_vlm.chat(data.test.images[i], conversation)
    return conversation + [chat.assistant(second)], first, second


conversation, first, second = two_turns(3)
print(chat.build_prompt(conversation))
viz.image_grid(data.test.images[3:4], [f"{first} objects"]);
results = [two_turns(i) for i in range(100)]
turn1 = sum(f == str(int(data.test.count[i])) for i, (_, f, _) in enumerate(results)) / 100
turn2 = vqa.exact_match([s for _, _, s in results], [data.test_qas[2 * i].answer for i in range(100)])
print(f"100 two-turn chats: first answers {turn1:.0%} right, second answers {turn2:.0%}")
assert turn1 >= 0.95, f"the first answer (a count) is right in at least 95% of chats: {turn1:.0%}"
assert turn2 >= 0.8, f"the second answer, in context, is right in at least 80%: {turn2:.0%}"

# %% [markdown]
# The second turn carries the whole first exchange in its prompt, and the image only
# once. About half of our stage-2 images came with such a two-turn chat, as LLaVA's
# instruction data mixes single questions with multi-turn conversations.

# %% [markdown]
# ## 7. The same model in transformers
#
# `to_llava` copies our weights into transformers' `LlavaForConditionalGeneration`. The
# library model takes our CNN tower through a small adapter that returns its patch
# tokens as `hidden_states`. A `LlavaProcessor` built offline (our tokenizer, a CLIP image
# processor that only resizes and rescales, our chat template) expands `<image>` into one
# placeholder per patch token; the library then scatters the projected features into
# those slots. Same weights and inputs, so the logits must agree exactly:

# %%
from PIL import Image  # noqa: E402

llava = to_llava(zoo_vlm)
processor = chat.llava_processor(tok, patch_size=16)  # 32 px / 16 px = a 2x2 grid = 4 image tokens
processor.tokenizer.padding_side = "left"
k = 4
pil_images = [Image.fromarray((im.permute(1, 2, 0).numpy() * 255).round().astype("uint8"))
              for im in data.test.images[:k]]
questions = [q.question for q in data.test_qas[: 2 * k : 2]]
messages = [[{"role": "user", "content": [{"type": "image", "image": im}, {"type": "text", "text": q}]}]
            for im, q in zip(pil_images, questions)]
inputs = processor.apply_chat_template(messages, add_generation_prompt=True, tokenize=True, return_dict=True,
                                       return_tensors="pt", **compat.processor_call_kwargs(processor, padding=True))

# %%
ours_ids, ours_mask = generation_prompts(tok, questions)
with torch.no_grad():
    library_logits = llava(**inputs).logits[:, -1]
    our_logits = zoo_vlm(ours_ids, inputs["pixel_values"], attention_mask=ours_mask).logits[:, -1]
generated = llava.generate(**inputs, max_new_tokens=4, do_sample=False)
library_answers = processor.decode(generated[:, inputs["input_ids"].shape[1]:], skip_special_tokens=True)
diff = (library_logits - our_logits).abs().max().item()
print(f"<image> expanded to {int((inputs['input_ids'][0] == 4).sum())} tokens; "
      f"max |logit difference| {diff:.1e}")
for q, a in zip(questions, library_answers):
    print(f"  {q!r} -> {a.strip()!r}")
assert diff < 1e-4, f"same weights and inputs must give the library's logits; max difference {diff:.1e}"
assert [a.strip() for a in library_answers] == zoo_vlm.answer(inputs["pixel_values"], questions), \
    "the library's generate must give our answers"

# %% [markdown]
# The other direction works too: `mmcourse.models.vlm.from_llava` wraps a library
# LLaVA (e.g. `llava-hf/llava-1.5-7b-hf`) in our `VLM`, so the splice and the generation
# loop of this chapter drive real checkpoints; `tests/models/test_vlm.py` checks both directions.
#
# ## 8. Connectors compared: an MLP per patch vs a Q-Former
#
# LLaVA gives the LM one token per patch (576 for LLaVA-1.5: a 336 px image in 14 px
# patches). BLIP-2 (Li et al., 2023, §3.1) instead lets a fixed set of **learned queries**
# read the image by cross-attention, so the LM gets as many visual tokens as there are
# queries (32 in BLIP-2), however many patches the encoder makes. BLIP-2 also *pretrains*
# its Q-Former before any LLM is attached (§3.2): with a frozen image encoder, the queries
# learn image-text contrast (ITC), image-text matching (ITM) and image-grounded caption
# generation (ITG), so they already extract what text can describe. Only then is the
# Q-Former connected to a frozen LLM (§3.3). Ours skips that pretraining and learns with
# the LM in stage 2.

# %%
from mmcourse.models.qformer import QFormer  # noqa: E402

viz.show_source(QFormer.forward);

# %%
connector_rows = []
for name, connector, n_queries in [("MLP projector", "mlp2x_gelu", 0), ("Q-Former, 4 queries", "qformer", 4),
                                   ("Q-Former, 8 queries", "qformer", 8), ("Q-Former, 16 queries", "qformer", 16)]:
    torch.manual_seed(SEED)
    model = instruct.new_vlm(zoo.load("clip-shapes"), zoo.load("lm-shapes"), connector=connector,
                             num_queries=max(n_queries, 1))
    h = instruct.train_stage(model, data, stage=2, steps=CONNECTOR_STEPS, lr=1e-3, cfg=cfg, seed=SEED,
                             progress=False, examples=data.questions)  # questions only: shorter, faster
    scores = instruct.evaluate_vqa(model.cpu(), data)
    connector_rows.append({"connector": name, "visual tokens": n_queries or vlm.vision_tower.num_patches,
                           "connector params": count_parameters(model.multi_modal_projector),
                           "ms / step": round(h.seconds / h.steps * 1000, 1), "VQA": round(scores["all"], 3),
                           "count": round(scores["count"], 3)})
    if n_queries == 8:
        qformer_attention = model.multi_modal_projector.last_attention

# %%
viz.table(connector_rows);
mlp_row, q_rows = connector_rows[0], connector_rows[1:]
for r in connector_rows:
    assert r["VQA"] > 0.35, f"{r['connector']} learns something in the same budget: {r}"
for r in q_rows:
    assert r["connector params"] > mlp_row["connector params"], f"a Q-Former has more parameters here: {r}"
assert q_rows[-1]["ms / step"] > mlp_row["ms / step"], "16 visual tokens make every LM step longer"
vqas = [r["VQA"] for r in connector_rows]
assert max(vqas) - min(vqas) < 0.1, f"at this budget the connectors answer about equally well: {vqas}"

# %% [markdown]
# With only 4 patches there is nothing for a Q-Former to compress: its 4–16 queries cost
# more parameters, and more time per step as the queries grow, than the 4 MLP tokens,
# and at this budget all four answer within a few points of each other. Its value shows when an encoder makes hundreds of
# patch tokens: BLIP-2's ViT-g/14 turns a 224 px image into 257 features (256 patches and
# a class token), and its 32 queries hand the LLM 32 tokens instead. Where does
# each query look?

# %%
viz.heatmap(qformer_attention.mean(0), xlabel="image token (quadrant)", ylabel="query",
            title="Q-Former cross-attention, 8 queries (mean over a batch)");

# %% [markdown]
# ## 9. The "no LLM" baseline: ViLT
#
# ViLT (Kim et al., 2021, §3) has no separate vision encoder, no CNN and no region
# detector: image patches go through one linear layer, are concatenated with the
# question's word embeddings, and a single transformer reads both. ViLT-B/32 cuts images
# with a 384 px short side into 32×32 patches (`dandelin/ViLT vilt/config.py`), and its
# transformer starts from an ImageNet-pretrained ViT-B/32. VQA is **classification** over
# a fixed list of answers (3,129 on VQAv2), not generation. Ours is transformers' own
# `ViltForQuestionAnswering` from a tiny config: 8×8 patches of our 32×32 images, random
# initialisation, trained from scratch on the same questions:

# %%
from mmcourse.instruct import fit_vilt, vilt_answer  # noqa: E402
from mmcourse.models.vilt import answer_vocabulary, tiny_vilt  # noqa: E402

answers = answer_vocabulary(data.questions.answers + [q.answer for q in data.test_qas])
torch.manual_seed(SEED)
vilt = tiny_vilt(len(tok), len(answers))
h_vilt = fit_vilt(vilt, tok, data.train.images, data.questions.questions, data.questions.answers,
                  data.questions.image, answers, steps=CONNECTOR_STEPS, cfg=cfg, seed=SEED)
vilt.cpu()
test_images = data.test.images[[q.index for q in data.test_qas]]
vilt_preds = vilt_answer(vilt, tok, test_images, [q.question for q in data.test_qas], answers)
vilt_acc = vqa.exact_match(vilt_preds, [q.answer for q in data.test_qas])
n_vilt = count_parameters(vilt)

# %%
# the prior: always give the most common training answer for the question's kind
kind_answers = {}
for a, kind in zip(data.questions.answers, data.questions.kinds):
    kind_answers.setdefault(kind, []).append(a)
prior = {kind: max(set(a), key=a.count) for kind, a in kind_answers.items()}
prior_acc = vqa.exact_match([prior[q.kind] for q in data.test_qas], [q.answer for q in data.test_qas])
print(f"ViLT ({n_vilt / 1e3:.0f}k parameters, {len(answers)} answer classes, {CONNECTOR_STEPS} steps): "
      f"{vilt_acc:.1%}; most common answer per question kind: {prior_acc:.1%}; "
      f"our VLM after the same number of stage-2 steps: {connector_rows[0]['VQA']:.1%}")
assert abs(vilt_acc - prior_acc) < 0.08, f"ViLT gets about as far as the answer priors: {vilt_acc:.1%} vs {prior_acc:.1%}"
assert vilt_acc < connector_rows[0]["VQA"] - 0.15, "the LLaVA-style model is far ahead in the same steps"

# %% [markdown]
# In the same budget ViLT gets no further than the answer priors: it must learn to see
# from raw pixels, while the LLaVA-style model starts from a trained image tower and a
# trained language model. And a classifier can only ever say one of the answers it was
# given; a generative VLM writes its answer word by word, so it can also describe, chat
# and take new instructions.
#
# ## 10. LoRA: teaching a new kind of question cheaply
#
# A new question type, "how large is the circle?" (answer: `small` or `large`), never
# appeared in training. Instead of fine-tuning every weight again, **LoRA** (Hu et al.,
# 2021) freezes the model and learns a low-rank update ``W + B·A`` for a few matrices
# (here the attention queries and values, rank 8), with the `peft` library. We mix some
# old kinds of questions into the new data ("replay"): trained on size questions alone,
# the model would forget how to answer anything else.

# %%
from peft import LoraConfig, get_peft_model  # noqa: E402

from mmcourse.data.instructions import Conversation, encode_conversations, qa_conversations  # noqa: E402


def size_questions(scenes):
    convs = []
    for i in range(len(scenes)):
        o = scenes.objects(i)[0]
        convs.append(Conversation(i, [chat.user(f"how large is the {o.shape}?"), chat.assistant(o.size)],
                                  "size", o.size))
    return convs


size_train, size_test = make_shapes(2000, seed=SEED + 20), make_shapes(300, seed=SEED + 21)
size_test_convs = size_questions(size_test)
# new questions, mixed with as many old ones about the stage-2 scenes ("replay"), so that
# learning the new skill does not overwrite the old ones; the size scenes' images follow
# the stage-2 images in one feature table
offset = len(data.train)
new_convs = [Conversation(c.image + offset, c.messages, c.kind, c.answer) for c in size_questions(size_train)]
old_convs = qa_conversations(make_qa(data.train, seed=SEED + 22))[: len(new_convs)]


def size_accuracy(model):
    preds = model.answer(size_test.images, [c.messages[0]["content"][-1]["text"] for c in size_test_convs])
    return vqa.exact_match(preds, [c.answer for c in size_test_convs])


# %% [markdown]
# Wrap the language model with LoRA adapters; everything else stays frozen:

# %%
warnings.filterwarnings("ignore", message=".*is_gradient_checkpointing.*")  # a peft/transformers notice
lora_vlm = copy.deepcopy(zoo_vlm)
before = size_accuracy(lora_vlm)
lora_vlm.requires_grad_(False)
lora_vlm.language_model = get_peft_model(lora_vlm.language_model, LoraConfig(
    r=8, lora_alpha=16, target_modules=["q_proj", "v_proj"], lora_dropout=0.0))
trainable, total = count_parameters(lora_vlm, trainable_only=True), count_parameters(lora_vlm)
share = trainable / total
print(f"LoRA trains {trainable:,} of {total:,} parameters ({share:.1%})")
assert share < 0.05, f"LoRA trains a few percent of the parameters; here {share:.1%}"

# %%
with torch.no_grad():
    lora_features = torch.cat([data.train_features, lora_vlm.vision_tower(size_train.images)])
torch.manual_seed(SEED)
instruct.fit_examples(lora_vlm, encode_conversations(tok, new_convs + old_convs), lora_features,
                      steps=LORA_STEPS, lr=3e-3, cfg=cfg, desc="LoRA", seed=SEED)
lora_vlm.cpu()
after = size_accuracy(lora_vlm)
kept = instruct.evaluate_vqa(lora_vlm, data)["all"]
print(f"'how large' accuracy {before:.1%} -> {after:.1%}; old questions {zoo_scores['all']:.1%} -> {kept:.1%}")
mmcourse.log_metric("lora_size_accuracy", after)
assert after >= 0.8, f"LoRA teaches the new question: {after:.1%} right"
assert after > before + 0.3, f"...which the model could not answer before: {before:.1%} -> {after:.1%}"
assert kept >= zoo_scores["all"] - 0.1, f"the old skills survive: {zoo_scores['all']:.1%} -> {kept:.1%}"

# %% [markdown]
# ## 11. Hallucination: does it see objects that are not there?
#
# The best-known failure of vision-language models is **object hallucination**: naming
# things the image does not show. POPE (Li et al., 2023, "Evaluating Object Hallucination
# in Large Vision-Language Models") measures it with yes/no questions, "is there a {object}
# in the image?", half about objects that are there and half about objects that are not,
# picked at random or *adversarially* (objects that often appear together with the present
# ones). It reports accuracy, precision, recall, F1 and the share of "yes" answers; a model
# that hallucinates says "yes" too often. LLaVA-1.5-7B scores 85.9 F1 (`LLaVA
# docs/MODEL_ZOO.md`). Our adversarial negatives share a colour or a shape with an object
# in the scene, the easiest absent objects to imagine:

# %%
pope_scenes = make_shapes(POPE_SCENES, objects=(1, 4), seed=SEED + 30)
pope = {negatives: instruct.evaluate_pope(zoo_vlm, pope_scenes, negatives=negatives, seed=SEED)
        for negatives in ("random", "adversarial")}
viz.table([{"negatives": k, **{m: round(v, 3) for m, v in scores.items()}} for k, scores in pope.items()]);
false_yes = {k: 1 - v["precision"] for k, v in pope.items()}
mmcourse.log_metric("pope_adversarial_f1", pope["adversarial"]["f1"])
assert pope["random"]["f1"] >= 0.9, f"on random absent objects the zoo model rarely hallucinates: {pope['random']}"
assert false_yes["adversarial"] >= false_yes["random"], f"adversarial absent objects fool it more often: {false_yes}"

# %% [markdown]
# Our model hallucinates rarely, and more often when the absent object shares a colour or a
# shape with one that is there: the same pattern POPE finds in real models, where objects
# that usually co-occur with the present ones are the ones invented.
#
# %% [markdown]
# ## 12. The full profile: real vision-language models
#
# LLaVA-1.5 (Liu et al., 2024, "Improved Baselines with Visual Instruction Tuning", §3.2
# and Table 2) gets its gains over LLaVA from a few simple changes, each measured in that
# table: a **response-format prompt** on short-answer data ("Answer the question using a
# single word or phrase."), so that the model learns when to be brief without losing its
# long answers; the **two-layer MLP projector** instead of one linear layer; academic VQA
# data in the mix; and **336 px** images instead of 224 px (576 image tokens).
#
# With a GPU (`PROFILE = "full"`), a real small VLM from the registry answers questions
# about the photos that ship with scikit-image, and BLIP captions them and ViLT answers
# questions through their model classes (transformers 5 removed the `image-to-text` and
# `visual-question-answering` pipelines; see its `MIGRATION_GUIDE_V5.md`).

# %%
hub.table("03");
photos = mmcourse.data.real.photos(["chelsea", "coffee", "coins"])
viz.image_grid([p.image for p in photos], [p.label for p in photos], ncols=3, size=2.0);

# %% [markdown]
# One function talks to any LLaVA-family model through its processor's chat template. In
# the tiny profile it runs on our own model converted to `LlavaForConditionalGeneration`
# (section 7), with a shapes scene, since the real checkpoints need the hub and a GPU:

# %%
def chat_about(model, processor, image, question, max_new_tokens=40):
    messages = [{"role": "user", "content": [{"type": "image", "image": image}, {"type": "text", "text": question}]}]
    inputs = processor.apply_chat_template(messages, add_generation_prompt=True, tokenize=True, return_dict=True,
                                           return_tensors="pt").to(cfg.device)
    out = model.generate(**inputs, max_new_tokens=max_new_tokens, do_sample=False)
    return processor.decode(out[0, inputs["input_ids"].shape[1]:], skip_special_tokens=True).strip()

# %% [markdown]
# With the full profile it talks to LLaVA-OneVision-0.5B about the photos; in the tiny
# profile, to our converted model about a scene whose answer we know:

# %%
if cfg.is_full:
    spec = hub.spec("llava-onevision-0.5b")
    big = hub.load(spec.name, cfg)
    if compat.video_processors_available():
        big_processor = transformers.AutoProcessor.from_pretrained(spec.repo_id)
        for photo in photos:
            for question in ["Describe the image in one sentence.", "How many objects are there?"]:
                print(f"{photo.name}: {question} -> {chat_about(big, big_processor, photo.image, question)}")
    else:  # transformers 5 builds this processor (it bundles a video processor) only with torchvision
        print(f"{spec.repo_id}'s processor needs torchvision: pip install torchvision (Colab has it)")
else:
    scene_image = pil_images[0]
    reply = chat_about(llava, processor, scene_image, "how many objects are there?", max_new_tokens=4)
    print(f"our model, as LlavaForConditionalGeneration: 'how many objects are there?' -> {reply!r} "
          f"(the scene has {int(data.test.count[0])})")
    assert reply == str(int(data.test.count[0])), f"the converted model counts like ours: {reply!r}"

# %%
if cfg.is_full:
    blip, vilt_full = hub.load("blip-caption-base", cfg), hub.load("vilt-vqa", cfg)
    blip_processor = transformers.BlipProcessor.from_pretrained(hub.spec("blip-caption-base").repo_id)
    vilt_processor = transformers.ViltProcessor.from_pretrained(hub.spec("vilt-vqa").repo_id)
    for photo in photos:
        inputs = blip_processor(images=photo.image, return_tensors="pt").to(cfg.device)
        caption = blip_processor.decode(blip.generate(**inputs, max_new_tokens=30)[0], skip_special_tokens=True)
        inputs = vilt_processor(photo.image, "what is in the picture?", return_tensors="pt").to(cfg.device)
        answer = vilt_full.config.id2label[int(vilt_full(**inputs).logits.argmax(-1))]
        print(f"{photo.name}: BLIP '{caption}' | ViLT 'what is in the picture?' -> {answer}")
        assert caption.strip(), f"BLIP's generate + decode should give a caption for {photo.name}; got {caption!r}"

# %% [markdown]
# **Three more families, and how to run them.** Each loads through its own transformers
# class, so the code above carries over:
#
# * **InstructBLIP** (Dai et al., 2023) is BLIP-2 whose Q-Former also reads the
#   *instruction*, so the 32 query tokens pick out the visual features the question needs
#   (instruction-aware feature extraction, the paper's section 2.3).
#   `InstructBlipForConditionalGeneration`; the Flan-T5-XL variant is MIT-licensed, the
#   Vicuna variants inherit LLaMA's non-commercial terms.
# * **Qwen-VL** lives on as the **Qwen2.5-VL** family (`Qwen2_5_VLForConditionalGeneration`):
#   images at their native resolution, cut into 14 px patches and merged 2×2, so the number
#   of image tokens grows with the picture instead of being fixed at 576. The 3B model's
#   licence is the non-commercial Qwen Research License; the 7B is Apache-2.0.
# * **CogVLM** adds a trainable "visual expert" (its own QKV and MLP weights for image
#   tokens) to every layer of a frozen LLM. It ships only *remote code*
#   (`trust_remote_code=True` runs Python from the model's repository), which the course
#   does not execute; Qwen2.5-VL is the transformers-native model to use instead.
#
# The registry table at the top of this section gives their sizes, licences and whether
# they fit a 16 GB T4. With the full profile, InstructBLIP answers about the photos:

# %%
if cfg.is_full:
    instruct_spec = hub.spec("instructblip-flan-t5-xl")
    instruct = hub.load(instruct_spec.name, cfg)
    instruct_processor = transformers.InstructBlipProcessor.from_pretrained(instruct_spec.repo_id)
    for photo in photos:
        inputs = instruct_processor(images=photo.image, text="What is in the picture? Answer briefly.",
                                    return_tensors="pt").to(cfg.device, instruct.dtype)
        answer = instruct_processor.decode(instruct.generate(**inputs, max_new_tokens=20)[0], skip_special_tokens=True)
        print(f"{photo.name}: InstructBLIP -> {answer!r}")
        assert answer.strip(), f"InstructBLIP's generate + decode should give an answer; got {answer!r}"

# %% [markdown]
# **Memory for a 7B LLaVA.** Weights alone, at 2, 1 and 0.5 bytes per parameter
# (activations, the KV cache and the CUDA context come on top; bitsandbytes keeps some
# layers in 16 bit, so real 4-bit checkpoints are a bit larger, about 4 GB for
# `llava-1.5-7b`). 8-bit and 4-bit loading use the bitsandbytes library; it supports
# CUDA GPUs and, in recent versions, CPUs and other accelerators, but the course's CPU
# profile does not use it: the tiny models are small enough in fp32.

# %%
params = hub.spec("llava-1.5-7b").params_m * 1e6
weights = [{"precision": p, "bytes / parameter": b, "weights (GB)": round(params * b / 1e9, 1),
            "fits a 16 GB T4 (x1.2 + 1 GB)": "yes" if params * b / 1e9 * 1.2 + 1 < 16 else "no"}
           for p, b in [("fp16", 2), ("int8", 1), ("nf4 (4-bit)", 0.5)]]
viz.table(weights);

# %% [markdown]
# ## 13. Play with it
#
# Pick a test image and ask a question (colour, shape, count, position, yes/no).

# %%
def ask(index=0, question="how many objects are there?"):
    reply = zoo_vlm.ask(data.test.images[index], question)
    fig = viz.image_grid(data.test.images[index:index + 1], [f"{question}\n-> {reply}"], size=2.4)
    return fig


mmcourse.widgets.demo(ask, {"index": (0, 99, 1), "question": "how many objects are there?"},
                      examples=[{"index": 3}, {"index": 7, "question": data.test_qas[14].question}]);

# %% [markdown]
# ## Summary
#
# * LLaVA = frozen vision tower + projector + language model. The image becomes a few
#   "words" spliced in at `<image>`, with no loss on them; the loss covers only the answer.
# * Stage 1 (projector only, captions) aligns; stage 2 (projector + LM, instructions)
#   teaches answering. On shapes, counting is learned in hundreds of steps, finding the
#   object a question is about in thousands; the zoo model answers ≥ 90% of questions
#   about unseen scenes.
# * Ours equals transformers' `LlavaForConditionalGeneration` with a `LlavaProcessor`,
#   both ways; the KV cache gives the same tokens faster.
# * A Q-Former sets the number of visual tokens by its queries; ViLT classifies instead
#   of generating; LoRA adds a skill with a few percent of the parameters.
# * Hallucination is measured POPE-style; ours is rare, and more frequent for absent
#   objects that resemble present ones.
#
# **Exercises:** `exercises/03_llava.ipynb` — the projector, the splice with label
# masking, the chat prompt, VQA exact match.
