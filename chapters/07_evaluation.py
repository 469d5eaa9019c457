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
# # Chapter 07 — Evaluation done right: every metric checked, every number with an interval
#
# [![Open In Colab](https://colab.research.google.com/assets/colab-badge.svg)](https://colab.research.google.com/github/mmcourse/mmcourse/blob/main/chapters/07_evaluation.ipynb)
#
# Chapters 02–06 each ended with a number: a zero-shot accuracy, a VQA score, a word error rate,
# a guidance table. This chapter asks what those numbers mean. A metric is code, and small
# choices in that code (how words are split, how answers are normalised, how many samples a
# Fréchet distance sees) move it by more than many papers' claimed gains. So each metric is
# written out here, checked against the implementation papers report with, and then used to
# score every model of the course with a confidence interval.
#
# **In this chapter you will**
# 1. implement retrieval, captioning, VQA, generation and speech metrics and check each against
#    pycocoevalcap, sacrebleu, torchmetrics, scikit-learn or jiwer on the same inputs;
# 2. score every zoo model with `python -m mmcourse evaluate`: each number with a bootstrap 95 %
#    interval, and paired bootstraps for "is A better than B";
# 3. measure six pitfalls: normalisation, tokenisation, FID's sample size, the CLIP backbone,
#    seed-to-seed variance, train/test overlap, and a binding test CLIP fails;
# 4. measure where GPU memory goes in training, and what fits a 16 GB T4;
# 5. see how the real benchmarks are run (lmms-eval, VLMEvalKit).

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
                    "mmcourse[dev] @ git+https://github.com/mmcourse/mmcourse"], check=True)

# %% tags=["parameters"]
PROFILE = "auto"
SEED = 0
RESAMPLES = 1000  # bootstrap resamples for every interval
SEED_RUNS = 4  # seeds of the same small classifier, for the seed-to-seed spread
CNN_STEPS = 60  # optimiser steps of each of those runs (batch 64)

# %%
import shutil
import warnings

import matplotlib.pyplot as plt
import numpy as np
import peft
import torch
import transformers

import mmcourse
from mmcourse import asr, evaluation, hub, memory, viz, zoo
from mmcourse.data import make_qa, make_shapes
from mmcourse.data.spoken_digits import DIGITS, load_spoken_digits
from mmcourse.data.vocabulary import PAIR_NAMES, SEEN_PAIRS
from mmcourse.data.words import SINGLE_TEMPLATES, caption
from mmcourse.hub.registry import T4_GB
from mmcourse.metrics import vqa
from mmcourse.models import CNNConfig, SmallCNN
from mmcourse.models.vq import codes_to_image, image_to_codes
from mmcourse.train import fit

# %% [markdown]
# The course's metrics (`mmcourse/metrics/`), and the reference implementations each is
# checked against in this chapter:

# %%
import jiwer
import sacrebleu
from pycocoevalcap.bleu.bleu import Bleu
from pycocoevalcap.cider.cider import Cider
from pycocoevalcap.rouge.rouge import Rouge
from scipy.stats import spearmanr
from sklearn.metrics import average_precision_score
from torchmetrics.image.fid import FrechetInceptionDistance
from torchmetrics.image.inception import InceptionScore

from mmcourse.metrics.captioning import bleu, bleu_statistics, cider_d, rouge_l, tokenize
from mmcourse.metrics.generation import clip_score, fid, fid_infinity, inception_score
from mmcourse.metrics.image import frechet_distance
from mmcourse.metrics.ranking import average_precision
from mmcourse.metrics.speech import character_error_rate, word_error_rate
from mmcourse.metrics.stats import bootstrap, mean_ci
from mmcourse.metrics.vqa_official import official_vqa_accuracy

# %%
cfg = mmcourse.setup(PROFILE, seed=SEED)

# %% [markdown]
# ## 1. The metrics cheat sheet
#
# | metric | measures | range, direction | known flaw | reference implementation |
# |---|---|---|---|---|
# | Recall@K | right item in the top K | 0–1 ↑ | ignores everything below K | (trivial) |
# | mAP | precision at every relevant item | 0–1 ↑ | depends on how ties are broken | `sklearn.metrics.average_precision_score` |
# | BLEU-4 | clipped 1–4-gram precision × brevity penalty | 0–1 ↑ | tokenisation changes it; no synonyms | pycocoevalcap `bleu/`; sacrebleu |
# | ROUGE-L | longest common subsequence, F-measure | 0–1 ↑ | word order only | pycocoevalcap `rouge/` |
# | CIDEr-D | TF-IDF n-gram cosine with references | 0–10 (papers ×100) ↑ | IDF depends on the evaluated set | pycocoevalcap `cider/` |
# | METEOR | unigram matches with stems and synonyms | 0–1 ↑ | needs Java and WordNet data | pycocoevalcap `meteor/` (Java) |
# | SPICE | scene-graph tuples (objects, attributes, relations) | 0–1 ↑ | parser errors; slow | pycocoevalcap `spice/` (Java, CoreNLP) |
# | VQA accuracy | min(1, humans agreeing / 3), leave-one-out | 0–1 ↑ | normalisation choices | GT-Vision-Lab/VQA `vqaEval.py` |
# | POPE | yes/no on present and absent objects | F1 0–1 ↑, yes-ratio ≈ 0.5 | only object existence | POPE repo (Li et al. 2023) |
# | FID | Fréchet distance of Inception features | ≥ 0 ↓ | biased in sample size; resize and features matter | pytorch-fid, clean-fid, torchmetrics |
# | Inception Score | confident and diverse classes | 1–#classes ↑ | ignores the real data | torchmetrics |
# | CLIPScore | image–caption cosine | 0–2.5 (Hessel) or 0–100 ↑ | depends on the CLIP backbone | `clipscore.py` (Hessel et al.), torchmetrics |
# | WER / CER | edit distance / reference length | ≥ 0 (can pass 1) ↓ | text normalisation | jiwer |

# %% [markdown]
# ## 2. Retrieval: Recall@K and mean average precision
#
# Chapter 02 scored retrieval by the rank of the first right answer. When a query has several
# right answers (any caption of the same colour–shape pair), **average precision** looks at all
# of them: walk down the ranking, and at each threshold where right items appear, take the
# precision so far, weighted by the recall it adds. Tied scores form one threshold, as in
# scikit-learn:

# %%
viz.show_source(average_precision)

# %%
clip = zoo.load("clip-shapes", cfg).eval()
gallery = make_shapes(200, split="train", seed=1)
pairs = gallery.label("pair")
relevant = pairs[:, None] == pairs[None, :]  # (images, captions): same colour-shape pair
with torch.no_grad():
    sim = (clip.encode_image(gallery.images) @ clip.encode_text(gallery.captions).T).cpu()  # (200, 200)
ours = average_precision(sim, relevant)
theirs = np.array([average_precision_score(r.numpy(), s.numpy()) for s, r in zip(sim, relevant)])
ap_gap = np.abs(ours - theirs).max()
print(f"mAP image→text {ours.mean():.4f}; scikit-learn {theirs.mean():.4f}; largest per-query gap {ap_gap:.1e}")
assert ap_gap < 1e-12, f"average precision should equal scikit-learn's on every query (gap {ap_gap:.1e})"

# %% [markdown]
# ## 3. Captioning: BLEU, ROUGE-L, CIDEr-D, METEOR, SPICE
#
# **BLEU** (Papineni et al. 2002, §2) counts how many of the candidate's n-grams appear in a
# reference, each at most as often as in the reference that has it most ("clipped"), for
# n = 1…4, sums those counts over the whole corpus, and takes the geometric mean of the four
# precisions. Precision alone rewards saying little ("a red" matches every red caption), so a
# **brevity penalty** BP = exp(1 − r/c) multiplies the score when the candidates' total length c
# is below r, the sum of each caption's closest reference length:
#
# $$\text{BLEU-4} = \text{BP}\cdot\exp\Big(\tfrac14\textstyle\sum_{n=1}^{4}\log p_n\Big).$$
#
# The per-caption counts are kept apart so that any subset's corpus BLEU (a bootstrap resample)
# is a sum of rows:

# %%
viz.show_source(bleu_statistics)

# %% [markdown]
# The captions chapter 03's `vlm-shapes` writes for 150 test scenes, against five references each
# (the data set's caption templates):

# %%
vlm = zoo.load("vlm-shapes", cfg).eval()
scenes = make_shapes(150, objects=(1, 4), seed=101)
objects = [scenes.objects(i) for i in range(len(scenes))]
references = [[tokenize(caption(objs, t)) for t in range(len(SINGLE_TEMPLATES) if len(objs) == 1 else 3)]
              for objs in objects]
candidates = [tokenize(c) for c in vlm.describe(scenes.images)]
gts, res = {i: r for i, r in enumerate(references)}, {i: [c] for i, c in enumerate(candidates)}
ours = [bleu(candidates, references)[f"BLEU-{n}"] for n in (1, 2, 3, 4)]
theirs = Bleu(4).compute_score(gts, res, verbose=0)[0]
bleu_gap = max(abs(a - b) for a, b in zip(ours, theirs))
print("BLEU-1..4 ours:", np.round(ours, 4), " pycocoevalcap:", np.round(theirs, 4), f" gap {bleu_gap:.1e}")
print(f"e.g. {candidates[0]!r} vs {references[0][:2]}")
assert bleu_gap < 1e-9, f"BLEU-1..4 should equal pycocoevalcap's (gap {bleu_gap:.1e})"

# %% [markdown]
# The brevity penalty at work: cut every caption to its first two words and the n-gram
# precisions stay high, but BP collapses:

# %%
short = [" ".join(c.split()[:2]) for c in candidates]
stats_full, stats_short = bleu_statistics(candidates, references).sum(0), bleu_statistics(short, references).sum(0)
brevity = {name: float(np.exp(min(0.0, 1 - s[1] / s[0]))) for name, s in (("full", stats_full), ("2 words", stats_short))}
p1 = {name: s[2] / s[6] for name, s in (("full", stats_full), ("2 words", stats_short))}
print({k: f"p1 {p1[k]:.3f}, BP {brevity[k]:.3f}, BLEU-1 {bleu(c, references)['BLEU-1']:.3f}"
       for k, c in (("full", candidates), ("2 words", short))})
assert brevity["2 words"] < 0.5 * brevity["full"], f"two-word captions should be penalised for brevity: {brevity}"

# %% [markdown]
# **ROUGE-L** (Lin 2004, §3.1) scores the longest common subsequence (words in order, gaps
# allowed) as an F-measure with β = 1.2. **CIDEr-D** (Vedantam et al. 2015, eq. 2–5) weights
# every n-gram by TF-IDF, so words every reference uses ("a", "and") count little and specific
# ones count much; it takes the cosine with each reference, clips the candidate's counts at the
# reference's, multiplies by a Gaussian penalty on the length difference (σ = 6), averages over
# n = 1…4 and the references, and multiplies by 10. Papers print it ×100: "133.3" is 1.333 here.
# The IDF comes from the references of the evaluated set itself.

# %%
viz.show_source(cider_d)

# %%
cider, rouge = cider_d(candidates, references), rouge_l(candidates, references)
their_cider, their_rouge = Cider().compute_score(gts, res)[1], Rouge().compute_score(gts, res)[1]
cider_gap, rouge_gap = np.abs(cider - their_cider).max(), np.abs(rouge - their_rouge).max()
print(f"CIDEr-D {cider.mean():.3f} (pycocoevalcap {their_cider.mean():.3f}, largest per-caption gap {cider_gap:.1e})")
print(f"ROUGE-L {rouge.mean():.3f} (pycocoevalcap {their_rouge.mean():.3f}, gap {rouge_gap:.1e})")
mmcourse.log_metric("vlm_cider_d", float(cider.mean()))
assert cider_gap < 1e-9, f"CIDEr-D should equal pycocoevalcap's per caption (gap {cider_gap:.1e})"
assert rouge_gap < 1e-12, f"ROUGE-L should equal pycocoevalcap's per caption (gap {rouge_gap:.1e})"

# %% [markdown]
# CIDEr-D near 5 (500 in papers' units) is far above COCO's best (BLIP-2 reports 145.8, Table 3)
# because these captions are written from the same few templates as the references: the metric
# rewards reproducing the references' wording, not being right. Captions that name the wrong
# objects with the right template still score:

# %%
objects_right = np.array([sorted(vqa.caption_objects(c)) == sorted((o.color, o.shape) for o in objs)
                          for c, objs in zip(candidates, objects)])
print(f"CIDEr-D of captions naming the right objects {cider[objects_right].mean():.2f}, "
      f"of the {int((~objects_right).sum())} naming wrong ones {cider[~objects_right].mean():.2f}")
assert cider[~objects_right].mean() > 1.0, "wrong captions in the right template should still score CIDEr-D above 1"

# %% [markdown]
# **METEOR** (Banerjee & Lavie 2005) matches unigrams through stems and WordNet synonyms and
# penalises fragmented matches; **SPICE** (Anderson et al. 2016) parses captions into scene graphs
# (objects, attributes, relations) and scores tuple overlap. Both are Java programs inside
# pycocoevalcap; SPICE also downloads Stanford CoreNLP on first use, so it is not run offline.
# METEOR runs where Java is installed (the course's CI installs it):

# %%
if shutil.which("java"):
    from pycocoevalcap.meteor.meteor import Meteor

    meteor = Meteor().compute_score(gts, res)[0]
    print(f"METEOR {meteor:.3f} (pycocoevalcap, Java)")
    assert 0 < meteor <= 1, f"METEOR lies in (0, 1]; measured {meteor}"
else:
    print("no Java here: METEOR skipped (apt-get install default-jre-headless, or Colab's Java)")

# %% [markdown]
# **Tokenisation alone moves BLEU.** sacrebleu (Post 2018) was written because papers' BLEU
# scores were not comparable: each tokenised differently. Write the same references as a person
# would ("A red circle on the left.") and score the same captions three ways:

# %%
written = [[r.capitalize() + "." for r in refs] for refs in references]
k = min(len(r) for r in written)  # sacrebleu wants the same number of reference streams per caption
streams = [[r[j] for r in written] for j in range(k)]
same_tokens = sacrebleu.corpus_bleu(candidates, [[tokenize(r[j]) for r in written] for j in range(k)],
                                    tokenize="none", smooth_method="none", force=True).score / 100
ours_k = bleu(candidates, [[tokenize(x) for x in r[:k]] for r in written])["BLEU-4"]
rows = [{"tokenisation": "ours (lower case, punctuation dropped)", "BLEU-4": ours_k},
        {"tokenisation": "sacrebleu on the same tokens", "BLEU-4": same_tokens},
        {"tokenisation": "sacrebleu 13a (its default)", "BLEU-4": sacrebleu.corpus_bleu(candidates, streams).score / 100},
        {"tokenisation": "sacrebleu 13a, lowercase=True",
         "BLEU-4": sacrebleu.corpus_bleu(candidates, streams, lowercase=True).score / 100}]
viz.table(rows)
assert abs(ours_k - same_tokens) < 1e-6, f"on the same tokens BLEU should equal sacrebleu's: {rows}"
assert ours_k - rows[2]["BLEU-4"] > 0.05, f"tokenisation alone should move BLEU-4 by more than 5 points: {rows}"

# %% [markdown]
# ## 4. VQA accuracy, as the official script computes it
#
# VQA v2 has ten human answers per question. A prediction scores min(1, #humans who gave it / 3)
# (Antol et al. 2015, §4), averaged over the ten ways of leaving one human out. The official
# script (GT-Vision-Lab/VQA `vqaEval.py`) normalises the *prediction* (punctuation, lower case,
# number words, articles, contractions) but the *human answers* only by punctuation, and only
# when they disagree:

# %%
viz.show_source(official_vqa_accuracy)

# %% [markdown]
# The synthetic questions have one answer each; ten simulated annotators write it the way
# people do (capitalised, with a full stop, "two" for 2, "the red one"), and one in ten answers
# something else. The same `vlm-shapes` predictions, scored three ways:

# %%
qas = make_qa(scenes, per_image=2, seed=103)  # two questions about each of the 150 scenes
predictions = vlm.answer(scenes.images[[q.index for q in qas]], [q.question for q in qas])
NUMBER = {"0": "zero", "1": "one", "2": "two", "3": "three", "4": "four"}
rng = np.random.default_rng(SEED)


def annotators(answer, n=10):
    forms = [answer, answer.capitalize(), f"{answer}.", NUMBER.get(answer, f"the {answer}")]
    return [forms[rng.integers(len(forms))] if rng.random() > 0.1 else "not sure" for _ in range(n)]


humans = [annotators(q.answer) for q in qas]
scores = {"official (vqaEval.py)": [official_vqa_accuracy(p, h) for p, h in zip(predictions, humans)],
          "both sides normalised (chapter 03)": [vqa.vqa_accuracy(p, h) for p, h in zip(predictions, humans)],
          "exact string match, no normalisation": [min(1.0, h.count(p) / 3) for p, h in zip(predictions, humans)]}
viz.table([{"scoring": k, "VQA accuracy": float(np.mean(v))} for k, v in scores.items()])
moved = np.mean(scores["both sides normalised (chapter 03)"]) - np.mean(scores["official (vqaEval.py)"])
mmcourse.log_metric("vqa_normalisation_gap", float(moved))
assert moved > 0.02, f"normalising the humans' answers too should raise the score by over 2 points; moved {moved:.3f}"

# %% [markdown]
# The model did not change; the score moved by the number above. A paper that reports VQA
# accuracy without saying which normalisation it used has not said what it measured.
#
# ## 5. Hallucination: POPE
#
# POPE (Li et al. 2023, §3) asks "Is there a {object} in the image?" about one present and one
# absent object per image, with absent objects drawn at random, among frequent ones, or among
# those that often co-occur (adversarial). A model that hallucinates says "yes" too often, so POPE
# reports the share of "yes" next to accuracy and F1 (LLaVA-1.5-7B: 85.9 F1, LLaVA
# `docs/MODEL_ZOO.md`). `vlm-shapes` with adversarial negatives (absent objects that share a
# colour or shape with a present one) is in the report below; live, with random negatives:

# %%
pope = mmcourse.instruct.evaluate_pope(vlm, scenes, negatives="random", seed=SEED)
print({k: round(v, 3) for k, v in pope.items()})
assert abs(pope["yes ratio"] - 0.5) < 0.1, f"a model that does not hallucinate says yes about half the time: {pope}"

# %% [markdown]
# ## 6. Generation: FID, Inception Score, CLIP score
#
# **FID** (Heusel et al. 2017, eq. 6) fits a Gaussian to features of real and of generated images
# and measures the Fréchet distance between them, ‖μ₁ − μ₂‖² + Tr(Σ₁ + Σ₂ − 2(Σ₁Σ₂)^½). Papers
# use Inception-v3's 2,048 pooled features; no weights can be downloaded here, so the features
# are the zoo's `shapes-cnn` classifier's 64 (chapter 00). That changes the scale, so the numbers
# compare only with each other ("FD-shapes"), not with any paper's FID. The matrix square root
# is taken through a symmetric eigendecomposition, which stays real and stable:

# %%
viz.show_source(frechet_distance)

# %% [markdown]
# Chapter 06's `unified-shapes` draws four images for each of the 24 seen colour–shape prompts;
# torchmetrics computes FID with the same classifier as its feature extractor:

# %%
gpt = zoo.pipeline("unified-shapes", cfg)  # the decoder with its vocabulary and VQ tokenizer
vq = gpt.vq
prompts = [f"a {c} {s}" for c, s in SEEN_PAIRS] * 4
judge_labels = torch.tensor([PAIR_NAMES.index(f"{c} {s}") for c, s in SEEN_PAIRS] * 4)  # (96,) pair ids
drawn = gpt.draw(prompts, seed=SEED).cpu()  # (96, 3, 32, 32) in [0, 1]
judge = zoo.load("shapes-cnn", cfg).eval().cpu()
real = make_shapes(500, split="train", seed=5).images


class ClassifierFeatures(torch.nn.Module):  # torchmetrics calls the extractor on images
    num_features = 64

    def forward(self, images):
        return judge.features(images)


theirs = FrechetInceptionDistance(feature=ClassifierFeatures(), normalize=True)
theirs.update(real, real=True)
theirs.update(drawn, real=False)
with torch.no_grad():
    fd_ours = fid(judge.features(real), judge.features(drawn))  # frechet_distance, refusing N <= 64 samples
fid_gap = abs(fd_ours - float(theirs.compute())) / fd_ours
print(f"FD-shapes of 96 drawings: ours {fd_ours:.3f}, torchmetrics {float(theirs.compute()):.3f} "
      f"(relative gap {fid_gap:.1e})")
assert fid_gap < 1e-4, f"the Fréchet distance should equal torchmetrics' FID with the same features ({fid_gap:.1e})"

# %% [markdown]
# **FID depends on how many samples it sees.** Even two sets of *real* images from the same
# distribution are at a positive distance, because each covariance is estimated from a finite
# sample, and the bias shrinks like 1/N (Chong & Forsyth 2020, §3). Their fix: compute FD at
# several N, fit a line in 1/N, and report the intercept FID∞. Real against real, and the VQ-VAE's
# reconstructions (a generator that is nearly perfect) against real:

# %%
a, b = make_shapes(2000, seed=21).images, make_shapes(2000, seed=22).images
with torch.no_grad():
    feats_a, feats_b = judge.features(a), judge.features(b)
    feats_recon = judge.features(codes_to_image(vq, image_to_codes(vq, a)))
sizes = [100, 250, 500, 1000, 2000]
curves = {"real vs real": fid_infinity(feats_a, feats_b, sizes, seed=SEED),
          "VQ reconstructions vs real": fid_infinity(feats_recon, feats_b, sizes, seed=SEED)}
fig, ax = plt.subplots(figsize=(6, 3.5))
for name, c in curves.items():
    ax.plot(1 / np.array(sizes), c["values"], "o-", label=f"{name}: FID∞ = {c['fid_inf']:.2f}")
ax.set(xlabel="1 / N", ylabel="FD-shapes", title="Fréchet distance falls linearly in 1/N")
ax.legend()
plt.show()
rr = curves["real vs real"]
viz.table([{"pair of sets": k, **{f"N={n}": v for n, v in zip(sizes, c["values"])}, "FID∞": c["fid_inf"]}
           for k, c in curves.items()])
mmcourse.log_metric("fd_real_vs_real_n100", rr["values"][0])
assert rr["values"][0] > 3 * rr["values"][-1], f"FD at N=100 should be well above FD at N=2000: {rr['values']}"
assert abs(rr["fid_inf"]) < 0.1 * rr["values"][0], f"real vs real should extrapolate to under a tenth of FD(100): {rr}"

# %% [markdown]
# So "FID 12 on 5k samples" and "FID 10 on 30k samples" cannot be compared: the second may be
# the worse model. Text-to-image papers on COCO fix N = 30,000 for that reason ("FID-30K").
#
# **Inception Score** (Salimans et al. 2016, §4) needs no real images: exp E_x KL(p(y|x) ‖ p(y)),
# high when each image is confidently one class and the classes are spread. With the shapes
# classifier's 30 pair classes as the "Inception" network, against torchmetrics:

# %%
class ClassifierLogits(torch.nn.Module):
    def forward(self, images):
        return judge(images)


torch.manual_seed(SEED)
warnings.filterwarnings("ignore", message=".*(will save all extracted features|degrees of freedom).*")
inception = InceptionScore(feature=ClassifierLogits(), splits=1)
inception.update(drawn)
with torch.no_grad():
    is_ours, is_real = inception_score(judge(drawn)), inception_score(judge(real[:96]))
is_gap = abs(is_ours - float(inception.compute()[0]))
print(f"IS of 96 drawings {is_ours:.2f} (torchmetrics {float(inception.compute()[0]):.2f}); of 96 real scenes {is_real:.2f}"
      f"; at most 24 here (24 prompts)")
assert is_gap < 1e-4, f"the Inception Score should equal torchmetrics' with the same classifier ({is_gap:.1e})"

# %% [markdown]
# **CLIP score** asks whether an image matches its prompt. Hessel et al. (2021, eq. 1) define
# CLIP-S = 2.5 · max(cos, 0) with ViT-B/32 and the prefix "A photo depicts"; torchmetrics reports
# max(100 · cos, 0), clamped after averaging. Same cosines, different numbers; and the number
# depends on which CLIP computes it. A second tiny CLIP, trained here for a few steps on the same
# captions, scores the same drawings:

# %%
captions_train = make_shapes(3000, split="train", seed=SEED)
torch.manual_seed(SEED)
clip_b = mmcourse.contrastive.shapes_clip(mmcourse.contrastive.shapes_tokenizer(captions_train.captions))
fit(clip_b, mmcourse.data.Batches(captions_train.images, clip_b.tokenizer(captions_train.captions), batch_size=128,
                                  seed=SEED), loss_fn=mmcourse.contrastive.contrastive_loss, steps=CNN_STEPS * 2,
    lr=2e-3, cfg=cfg, desc="second CLIP")
with torch.no_grad():
    per_image = {name: clip_score(m.eval().encode_image(drawn), m.encode_text(prompts))
                 for name, m in (("clip-shapes", clip), ("second CLIP", clip_b))}
    torchmetrics_style = clip_score(clip.encode_image(drawn), clip.encode_text(prompts), convention="torchmetrics")
right = (mmcourse.metrics.predict(judge, drawn).argmax(1) == judge_labels).numpy()  # the classifier's verdict
viz.table([{"backbone": k, "CLIP-S": float(v.mean()), "right drawings": float(v[right].mean()),
            "wrong drawings": float(v[~right].mean())} for k, v in per_image.items()]
          + [{"backbone": "clip-shapes, torchmetrics' ×100", "CLIP-S": float(torchmetrics_style.mean())}])
agreement = spearmanr(per_image["clip-shapes"], per_image["second CLIP"]).statistic
print(f"rank correlation of the two backbones' per-drawing scores: {agreement:.2f}")
assert per_image["clip-shapes"][right].mean() > per_image["clip-shapes"][~right].mean(), "wrong drawings score lower"
assert agreement < 0.9, f"two backbones should disagree on which drawings match best (Spearman {agreement:.2f})"

# %% [markdown]
# ## 7. Speech: WER and CER
#
# Chapter 04's word error rate, checked against jiwer on `whisper-digits`' transcripts of the
# three voices it never heard:

# %%
whisper, held = zoo.load("whisper-digits", cfg).eval(), load_spoken_digits("heldout")
heard = asr.transcribe(whisper, asr.speech_features(held.waves, 3.0))
wer_ours, cer_ours = word_error_rate(held.texts, heard), character_error_rate(held.texts, heard)
wer_gap = abs(wer_ours - jiwer.wer(held.texts, heard)) + abs(cer_ours - jiwer.cer(held.texts, heard))
print(f"WER {wer_ours:.2%}, CER {cer_ours:.2%} over {len(heard)} utterances; jiwer gap {wer_gap:.1e}")
assert wer_gap < 1e-12, f"WER and CER should equal jiwer's (gap {wer_gap:.1e})"

# %% [markdown]
# ## 8. Every zoo model, each number with an interval
#
# A test set is a sample: on another sample of the same size the score would differ. The
# percentile **bootstrap** (Efron & Tibshirani 1993, ch. 13) estimates by how much: draw the test
# examples again with replacement, recompute the metric, repeat, and read the 2.5th and 97.5th
# percentiles. For a corpus metric (BLEU) the statistic is recomputed on each resample:

# %%
viz.show_source(bootstrap)

# %% [markdown]
# `python -m mmcourse evaluate` (`mmcourse/evaluation.py`) lets each zoo model score itself with its
# entry's scorer (`mmcourse/zoo/entries/`: per-example scores on test sets drawn from the recipe's
# seeds) and writes `build/evaluation/report.json` and `report.md`; here it runs in the notebook:

# %%
report = evaluation.evaluate(resamples=RESAMPLES, seed=SEED)
viz.table([{"model": name, "metric": metric, "value": s["value"], "95 % low": s["low"], "95 % high": s["high"],
            "n": s["n"]} for name, metrics in report["models"].items() for metric, s in metrics.items()])
m = report["models"]
mmcourse.log_metric("report_vlm_vqa", m["vlm-shapes"]["VQA exact (all)"]["value"])
assert m["video-motion"]["direction, frame attention"]["high"] < 0.5, "one frame cannot tell direction: below chance"
assert m["video-motion"]["direction, divided attention"]["low"] > 0.9, "divided attention should read direction"
fd = m["ldm-shapes"]["FD-shapes, w=2"]
assert fd["high"] - fd["value"] > 3 * (fd["value"] - fd["low"]), f"FD's bootstrap interval should sit above it: {fd}"

# %% [markdown]
# Widths to notice: a metric measured on 60 examples (Winoground) has an interval ±10 points
# wide; 500 examples give about ±2. FD-shapes' interval lies almost all *above* its value: a
# resample repeats some images, which lowers the effective N, and section 6 showed FD rising as N
# falls, so the bootstrap of a biased statistic is biased too. A difference between two models smaller than their
# intervals' width is not evidence, unless they were scored on the *same* examples: then the
# **paired** bootstrap resamples examples once for both and looks at the difference (Koehn
# 2004). The report's comparisons:

# %%
viz.table([{"A": c["a"], "B": c["b"], "A − B": c["difference"], "95 % low": c["low"], "95 % high": c["high"],
            "p (A not better)": c["p"]} for c in report["comparisons"]])
spec = next(c for c in report["comparisons"] if c["a"].startswith("whisper-digits:"))
guided = next(c for c in report["comparisons"] if c["a"].startswith("ldm-shapes"))
unclip = next(c for c in report["comparisons"] if c["a"].startswith("unclip-shapes"))
assert guided["low"] > 0, f"guidance w=2 should beat w=0 on the same prompts and seeds: {guided}"
assert unclip["low"] > 0, f"the decoder fed the prior should beat it fed the caption embedding: {unclip}"
assert spec["high"] - spec["low"] > abs(spec["difference"]), f"SpecAugment's gain is within its own noise: {spec}"

# %% [markdown]
# Chapter 04's SpecAugment gain on unseen voices (lower WER; A − B is B's WER minus A's) has an
# interval about as wide as the gain itself: with 120 test utterances it is suggestive, not
# settled. Classifier-free guidance's gain in chapter 05 is settled, and so is what DALL·E 2's
# prior adds to its decoder (60 prompts, the same noise both ways).
#
# ## 9. Pitfalls, each measured
#
# **Seed-to-seed variance.** The same recipe with a different seed is a different model. Four
# runs of one small classifier, identical but for the seed:

# %%
train, test = make_shapes(3000, seed=0), make_shapes(1000, seed=1)
seed_accuracy = []
for seed in range(SEED_RUNS):
    torch.manual_seed(seed)
    model = SmallCNN(CNNConfig(channels=(8, 16, 32), num_classes=30))
    fit(model, mmcourse.data.Batches(train.images, train.label("pair"), batch_size=64, seed=seed), steps=CNN_STEPS,
        lr=3e-3, cfg=cfg, desc=f"seed {seed}")
    seed_accuracy.append(mmcourse.metrics.accuracy(mmcourse.metrics.predict(model, test.images), test.label("pair")))
_, low, high = mean_ci((mmcourse.metrics.predict(model, test.images).argmax(1) == test.label("pair")).numpy(),
                       resamples=RESAMPLES, seed=SEED)
spread = max(seed_accuracy) - min(seed_accuracy)
print(f"accuracy by seed {np.round(seed_accuracy, 3)}: spread {spread:.3f}; one run's bootstrap interval width {high - low:.3f}")
assert spread > 0.01, f"seeds alone should move accuracy by over a point: {seed_accuracy}"

# %% [markdown]
# A claimed gain smaller than the seed-to-seed spread, from one run of each method, is noise:
# report the mean and spread over seeds, and the bootstrap interval only covers the test sample,
# not the training run.
#
# **Train/test overlap (contamination).** Generated data make this checkable exactly: hash every
# test image and look for it in the training set; then look for the test *captions*.

# %%
def fingerprints(images):
    return {bytes((img * 255).round().to(torch.uint8).numpy().tobytes()) for img in images}


shapes_train = make_shapes(6000, seed=0)  # shapes-cnn's training set (chapter 00)
duplicates = len(fingerprints(test.images) & fingerprints(shapes_train.images))
seen_captions = set(shapes_train.captions)
caption_overlap = np.mean([c in seen_captions for c in test.captions])
print(f"test images found in training: {duplicates}; test captions found verbatim: {caption_overlap:.1%}")
assert duplicates == 0, f"no test image should appear in training; found {duplicates}"
assert caption_overlap > 0.5, f"most test captions repeat training captions: {caption_overlap:.1%}"

# %% [markdown]
# No image repeats, yet most test *captions* do: a text-only model that memorised the training
# captions could look good on caption metrics. That is why chapters 02, 05 and 06 also report
# never-seen colour–shape pairs, which no training caption names.
#
# **A binding test.** Winoground (Thrush et al. 2022) pairs two images and two captions made of
# the same words in a different order; CLIP ViT-B/32 scores text 30.8, image 10.5, group 8.0
# against chance 25 / 25 / 16.7 (Table 3). The same test on `clip-shapes`, with two objects and
# their colours swapped ("a red circle and a blue square" vs "a blue circle and a red square"):

# %%
wino = m["clip-shapes"]
viz.table([{"score": k, "clip-shapes": wino[f"Winoground {k}"]["value"], "95 % low": wino[f"Winoground {k}"]["low"],
            "95 % high": wino[f"Winoground {k}"]["high"], "chance": c}
           for k, c in (("text", 0.25), ("image", 0.25), ("group", 1 / 6))])
assert wino["Winoground group"]["low"] < 1 / 6, f"clip-shapes should not bind colours to shapes: {wino}"
assert m["clip-shapes"]["R@1 image→text"]["value"] > 0.95, "yet it retrieves single objects almost perfectly"

# %% [markdown]
# Near-perfect retrieval, chance-level binding: a contrastive model can succeed by matching bags
# of words (Yuksekgonul et al. 2023 make the same point for real CLIPs).
#
# ## 10. Memory on a consumer GPU
#
# Training with Adam keeps, per parameter, the weight, its gradient and two moment estimates:
# 4 + 4 + 8 = 16 bytes in fp32; in mixed precision 2 + 2 bytes of fp16 weight and gradient plus
# 12 bytes of fp32 master weight and moments, 16 again (ZeRO, Rajbhandari et al. 2020, §3.1).
# Activations come on top. Measured on a small Llama (4 layers, batch 8 × 256 tokens) by counting
# what autograd saves for the backward pass, without and with gradient checkpointing:

# %%
viz.show_source(memory.saved_activation_bytes)

# %%
llama_cfg = transformers.LlamaConfig(vocab_size=256, hidden_size=128, intermediate_size=512, num_hidden_layers=4,
                                     num_attention_heads=4, max_position_embeddings=256, use_cache=False)
torch.manual_seed(SEED)
llama = transformers.LlamaForCausalLM(llama_cfg).train()
tokens = torch.randint(0, 256, (8, 256), generator=torch.Generator().manual_seed(SEED))
step = lambda: llama(input_ids=tokens, labels=tokens).loss  # noqa: E731
plain = memory.saved_activation_bytes(llama, step)
memory.checkpointing(llama, on=True)  # each decoder layer keeps only its input; recomputes the rest
checkpointed = memory.saved_activation_bytes(llama, step)
memory.checkpointing(llama, on=False)
adam_full = memory.optimizer_state_bytes(llama, step)
n_params = sum(p.numel() for p in llama.parameters())
print(f"activations {plain / 2**20:.1f} MB -> {checkpointed / 2**20:.1f} MB with checkpointing "
      f"({plain / checkpointed:.1f}x less); Adam states {adam_full / n_params:.1f} bytes per parameter")
mmcourse.log_metric("checkpointing_saving", plain / checkpointed)
assert plain > 4 * checkpointed, f"checkpointing should save most activation memory: {plain} vs {checkpointed}"
assert adam_full == 8 * n_params, f"AdamW should hold two fp32 moments per parameter: {adam_full / n_params} bytes"

# %% [markdown]
# **LoRA** (Hu et al. 2021) freezes the weights and trains two small matrices per adapted layer,
# so gradients and Adam states exist only for those. peft on the same model, rank 8 on the
# attention's query and value projections:

# %%
warnings.filterwarnings("ignore", message=".*is_gradient_checkpointing.*")  # peft reads transformers' old name
torch.manual_seed(SEED)
lora = peft.get_peft_model(transformers.LlamaForCausalLM(llama_cfg), peft.LoraConfig(r=8, target_modules=["q_proj", "v_proj"]))
adam_lora = memory.optimizer_state_bytes(lora, lambda: lora(input_ids=tokens, labels=tokens).loss)
trainable = sum(p.numel() for p in lora.parameters() if p.requires_grad)
print(f"trainable {trainable:,} of {n_params:,} parameters; Adam states {adam_full / 2**20:.2f} MB -> "
      f"{adam_lora / 2**20:.3f} MB ({adam_full / adam_lora:.0f}x less)")
assert adam_full > 20 * adam_lora, f"LoRA should shrink the optimiser state by over 20x: {adam_full} vs {adam_lora}"

# %% [markdown]
# Scaled to the registry's real checkpoints: weight memory at each precision (nf4 counts one fp32
# scale per 64 weights, QLoRA §3), whether inference fits a 16 GB T4 (weights × 1.2 + 1 GB, the
# registry's rule), and full fine-tuning with Adam (16 bytes per parameter, before activations):

# %%
rows = []
for spec in (hub.spec(n) for n in hub.names()):
    if spec.params_m is None:
        continue
    gb = {p: memory.weight_bytes(spec.params_m * 1e6, p) / 1e9 for p in ("fp16", "int8", "nf4")}
    rows.append({"model": spec.name, "params (M)": spec.params_m, **{f"{p} GB": v for p, v in gb.items()},
                 "fp16 inference fits T4": gb["fp16"] * 1.2 + 1 <= T4_GB,
                 "Adam fine-tune fits T4": spec.params_m * 1e6 * 16 / 1e9 <= T4_GB})
viz.table(sorted(rows, key=lambda r: r["params (M)"]))
big = next(r for r in rows if r["model"] == "llava-1.5-7b")
assert not big["fp16 inference fits T4"], f"a 7B model in fp16 should not fit a T4: {big}"
assert big["nf4 GB"] < 5, f"a 7B model in nf4 should need under 5 GB of weights: {big}"

# %% [markdown]
# ## 11. The real benchmarks
#
# The metrics above are the ones the public harnesses compute on real data. Two run most VLM
# benchmarks from one command (GPU, internet and the data sets needed):
#
# ```bash
# # lmms-eval (EvolvingLMMs-Lab/lmms-eval): POPE and MME for LLaVA-1.5-7B
# pip install lmms-eval
# accelerate launch --num_processes=1 -m lmms_eval --model llava \
#     --model_args pretrained=liuhaotian/llava-v1.5-7b --tasks pope,mme --batch_size 1 \
#     --log_samples --output_path ./logs/
#
# # VLMEvalKit (open-compass/VLMEvalKit): the same model on MME and POPE
# python run.py --data MME POPE --model llava_v1.5_7b --verbose
# ```
#
# Published numbers worth knowing, each from its primary source: LLaVA-1.5-7B POPE F1 85.9
# (LLaVA `docs/MODEL_ZOO.md`); BLIP-2 ViT-g OPT-2.7B COCO CIDEr 145.8 after fine-tuning (BLIP-2,
# Table 3); zero-shot COCO FID-30K of DALL·E 2 10.39 (Ramesh et al. 2022, Table 2), and GLIDE
# 12.24, Imagen 7.27, Parti 7.23 in their own papers; Whisper large-v2 LibriSpeech test-clean
# WER 2.7 % with greedy decoding (Radford et al. 2022, Table 8).
#
# ## 12. The same metrics on real models (full profile)
#
# With `PROFILE = "full"` on a GPU the same functions score the registry's real checkpoints on
# the photos that ship with scikit-image, scikit-learn and matplotlib: CLIP score with Hessel's
# ViT-B/32 and with ViT-B/16 (the backbone changes the number), and BLIP's captions scored with
# BLEU and CIDEr-D against the photos' labels.

# %%
photos = mmcourse.data.real.photos()
if cfg.is_full:
    clip_scores = {}
    for name in ("clip-b32", "clip-b16"):
        model = hub.load(name, cfg)
        processor = transformers.CLIPProcessor.from_pretrained(hub.spec(name).repo_id)
        inputs = processor(text=[f"A photo depicts {p.label}" for p in photos], images=[p.image for p in photos],
                           return_tensors="pt", padding=True).to(cfg.device)
        with torch.no_grad():
            out = model(**inputs)
        clip_scores[name] = clip_score(out.image_embeds.float().cpu(), out.text_embeds.float().cpu())
    viz.table([{"photo": p.name, **{k: float(v[i]) for k, v in clip_scores.items()}} for i, p in enumerate(photos)])
    assert all(torch.isfinite(v).all() for v in clip_scores.values()), f"CLIP scores should be finite: {clip_scores}"
else:
    print("tiny profile: CLIP ViT-B/32 and ViT-B/16 need PROFILE='full'; section 6 ran the same clip_score")

# %%
if cfg.is_full:
    blip = hub.load("blip-caption-base", cfg)
    blip_processor = transformers.BlipProcessor.from_pretrained(hub.spec("blip-caption-base").repo_id)
    written = []
    for p in photos:
        inputs = blip_processor(images=p.image, return_tensors="pt").to(cfg.device)
        written.append(tokenize(blip_processor.decode(blip.generate(**inputs, max_new_tokens=20)[0],
                                                      skip_special_tokens=True)))
    photo_refs = [[tokenize(p.label), tokenize(f"a photo of {p.label}")] for p in photos]
    print({"BLEU-4": bleu(written, photo_refs)["BLEU-4"], "CIDEr-D": float(cider_d(written, photo_refs).mean())})
    print(list(zip([p.name for p in photos], written)))
    assert len(written) == len(photos), "BLIP should caption every photo"
else:
    print("tiny profile: BLIP needs PROFILE='full'; section 3 scored vlm-shapes' captions the same way")

# %% [markdown]
# And Whisper (`whisper-tiny`) on the shipped spoken digits: its raw transcripts ("3, 14.") against
# the references ("three one four") and after the normalisation the Whisper authors also apply
# before scoring (spelled-out digits, no punctuation): the model is the same, the WER is not.

# %%
def spell_digits(text):
    """'3, 14.' -> 'three one four': lower case, punctuation dropped, digits spelled one by one."""
    words = []
    for w in tokenize(text).split():
        words += [DIGITS[int(c)] for c in w] if w.isdigit() else [w]
    return " ".join(words)


print(spell_digits("3, 14."))

# %%
if cfg.is_full:
    whisper_processor = transformers.AutoProcessor.from_pretrained(hub.spec("whisper-tiny").repo_id)
    whisper_hf = hub.load("whisper-tiny", cfg)
    sample = list(range(0, len(held), 4))  # 30 utterances, every voice
    features = whisper_processor([held.waves[i].numpy() for i in sample], sampling_rate=16000,
                                 return_tensors="pt").input_features
    with torch.no_grad():
        ids = whisper_hf.generate(features.to(cfg.device, whisper_hf.dtype), language="en", task="transcribe",
                                  max_new_tokens=24)
    raw = [t.strip() for t in whisper_processor.batch_decode(ids, skip_special_tokens=True)]
    spelled = [spell_digits(t) for t in raw]
    truth = [held.texts[i] for i in sample]
    print({"raw WER": word_error_rate(truth, raw), "normalised WER": word_error_rate(truth, spelled)})
    assert abs(word_error_rate(truth, spelled) - jiwer.wer(truth, spelled)) < 1e-12, "WER should equal jiwer's"
else:
    print("tiny profile: whisper-tiny needs PROFILE='full'; section 7 scored whisper-digits the same way")

# %% [markdown]
# ## 13. Play with it
#
# Type a caption for the first test scene and watch BLEU-4, ROUGE-L and CIDEr-D against its
# references (CIDEr-D's IDF comes from all 150 scenes' references):

# %%
def score_caption(candidate="a red circle"):
    cands = [tokenize(candidate)] + candidates[1:]
    scores = {"BLEU-4": bleu(cands[:1], references[:1])["BLEU-4"], "ROUGE-L": float(rouge_l(cands[:1], references[:1])[0]),
              "CIDEr-D": float(cider_d(cands, references)[0])}
    fig, axes = plt.subplots(1, 2, figsize=(8, 3))
    axes[0].imshow(scenes.images[0].permute(1, 2, 0).numpy())
    axes[0].set(xticks=[], yticks=[], title="\n".join(references[0][:3]))
    axes[1].barh(list(scores), list(scores.values()))
    axes[1].set(title=f"'{tokenize(candidate)}'")
    return fig


mmcourse.widgets.demo(score_caption, {"candidate": candidates[0]},
                      examples=[{"candidate": candidates[0]}, {"candidate": "a blue square"}]);

# %% [markdown]
# ## Summary
#
# * Each metric here equals the implementation papers report with, on the same inputs:
#   BLEU, ROUGE-L and CIDEr-D pycocoevalcap's, BLEU sacrebleu's on the same tokens, FID and IS
#   torchmetrics', mAP scikit-learn's, WER and CER jiwer's.
# * The choices inside a metric move it: the VQA normalisation, BLEU's tokenisation, FID's
#   sample size, CLIP score's backbone, and CIDEr rewards a template over the truth.
# * Every number deserves an interval; a comparison on shared examples deserves a paired one;
#   a gain smaller than the seed-to-seed spread is not a gain.
# * Check contamination and compositional binding separately: high retrieval scores hid a model
#   that cannot bind colours to shapes.
# * Training memory is weights + gradients + optimiser states + activations; checkpointing and
#   LoRA each remove one of the large terms, quantisation shrinks the weights.
