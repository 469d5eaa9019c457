"""An evaluation report of every zoo model, each number with a bootstrap 95 % interval.

``python -m mmcourse evaluate [names...]`` runs :func:`evaluate` and writes
``build/evaluation/report.json`` and ``report.md``; chapter 07 renders it. Each evaluator
scores one zoo model on a fixed, seeded test set and returns its *per-example* scores, so
every number gets an interval (:func:`mmcourse.metrics.stats.bootstrap`) and two models
scored on the same examples can be compared with a paired bootstrap (:data:`COMPARISONS`).

Test sets are the ones each zoo recipe held out (same seeds), smaller where generation is
slow; the sizes are in each evaluator and in the report (``n``).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
from tqdm.auto import tqdm

from . import asr, diffusion, prior, unconditional, unified, zeroshot, zoo
from .audio import log_mel_batch
from .contracts import Int, contract
from .data import HOLDOUT_PAIRS, make_pope, make_qa, make_shapes, scene
from .data.motion import make_motion_clips
from .data.sound_scenes import SOUND_CLASSES, class_name, make_sound_captions
from .data.spoken_digits import load_spoken_digits
from .data.vocabulary import COLORS, PAIR_NAMES, SHAPES
from .data.words import MULTI_TEMPLATES, SINGLE_TEMPLATES, caption
from .metrics import predict, vqa
from .metrics.captioning import bleu_from_statistics, bleu_statistics, cider_d, tokenize
from .metrics.generation import FrechetReference, clip_score
from .metrics.ranking import average_precision, winoground_scores
from .metrics.retrieval import retrieval_ranks
from .metrics.speech import edit_distance
from .metrics.stats import bootstrap, paired_bootstrap
from .models.schedulers import NoiseSchedule
from .models.vq import codes_to_image, image_to_codes
from .tokens import MultimodalVocabulary, unified_text_tokenizer

SEEN_PAIRS = [(c, s) for c in COLORS for s in SHAPES if (c, s) not in HOLDOUT_PAIRS]


@dataclass
class Metric:
    """Per-example scores and how they combine: the mean, or a corpus ``statistic`` of an
    index array (BLEU, CIDEr, WER, Fréchet distance)."""

    values: np.ndarray  # (n,) per-example scores; for corpus metrics, anything of length n
    statistic: Callable[[np.ndarray], float] | None = None
    higher_is_better: bool = True

    def score(self, resamples: int, seed: int) -> dict[str, float]:
        stat = self.statistic or (lambda i: float(self.values[i].mean()))
        value, low, high = bootstrap(len(self.values), stat, resamples=resamples, seed=seed)
        return {"value": value, "low": low, "high": high, "n": len(self.values),
                "higher_is_better": self.higher_is_better}


def _mean(values: Sequence[float] | np.ndarray) -> Metric:
    return Metric(np.asarray(values, dtype=float))


# -- one evaluator per zoo model ------------------------------------------------------------
def _shapes_cnn() -> dict[str, Metric]:
    model, test = zoo.load("shapes-cnn"), make_shapes(1000, seed=1)
    right = predict(model, test.images).argmax(1) == test.label("pair")
    return {"pair accuracy": _mean(right.numpy())}


def _winoground(model: Any, n: int = 60, seed: int = 0) -> dict[str, np.ndarray]:
    """Two objects, colours swapped: "a red circle and a blue square" vs "a blue circle and a red square"."""
    rng, colors = np.random.default_rng(seed), list(COLORS)
    scores = []
    for _ in range(n):
        (c1, c2), (s1, s2) = rng.choice(colors, 2, replace=False), rng.choice(SHAPES, 2, replace=False)
        images = torch.stack([scene([(c1, s1), (c2, s2)]), scene([(c2, s1), (c1, s2)])])
        captions = [f"a {c1} {s1} and a {c2} {s2}", f"a {c2} {s1} and a {c1} {s2}"]
        with torch.no_grad():
            scores.append(model.encode_text(captions) @ model.encode_image(images).T)  # (2 captions, 2 images)
    return winoground_scores(torch.stack(scores))


def _clip_shapes() -> dict[str, Metric]:
    model = zoo.load("clip-shapes").eval()
    out = {}
    for split, name, seed in (("train", "seen", 1), ("holdout", "unseen", 2)):
        test = make_shapes(500, split=split, seed=seed)
        emb = zeroshot.class_embeddings(model, list(PAIR_NAMES), zeroshot.CLIP_PROMPTS)  # as the zoo scores it
        pred = zeroshot.classify(model, test.images, emb).argmax(1)
        out[f"zero-shot {name} pairs"] = _mean((pred == test.label("pair")).numpy())
    test = make_shapes(200, split="train", seed=1)
    pairs = test.label("pair")
    relevant = pairs[:, None] == pairs[None, :]  # any caption of the same colour-shape pair is right
    with torch.no_grad():
        sim = model.encode_image(test.images) @ model.encode_text(test.captions).T  # (images, captions)
    for direction, s in (("image→text", sim), ("text→image", sim.T)):
        out[f"R@1 {direction}"] = _mean((retrieval_ranks(s, relevant) == 1).float().numpy())  # ties count against
        out[f"mAP {direction}"] = _mean(average_precision(s, relevant))
    for kind, values in _winoground(model).items():
        out[f"Winoground {kind}"] = _mean(values)
    return out


def _references(objects: Sequence[Any]) -> list[str]:
    templates = SINGLE_TEMPLATES if len(objects) == 1 else MULTI_TEMPLATES
    return [tokenize(caption(objects, t)) for t in range(len(templates))]


def _caption_metrics(captions: Sequence[str], refs: Sequence[Sequence[str]]) -> dict[str, Metric]:
    cands = [tokenize(c) for c in captions]
    stats = bleu_statistics(cands, refs)
    # CIDEr-D's IDF comes from the whole set; the interval resamples the per-caption scores
    return {"BLEU-4": Metric(stats, lambda i: bleu_from_statistics(stats[i])["BLEU-4"]),
            "CIDEr-D": _mean(cider_d(cands, refs))}


def _vlm_shapes() -> dict[str, Metric]:
    vlm = zoo.load("vlm-shapes").eval()
    test = make_shapes(300, objects=(1, 4), seed=101)  # shapes_instructions' test seed
    qas = make_qa(test, per_image=2, seed=103)
    preds = vlm.answer(test.images[[q.index for q in qas]], [q.question for q in qas])
    right = np.array([vqa.normalize_answer(p) == vqa.normalize_answer(q.answer) for p, q in zip(preds, qas)], float)
    out = {"VQA exact (all)": _mean(right)}
    for kind in sorted({q.kind for q in qas}):
        out[f"VQA exact ({kind})"] = _mean(right[[q.kind == kind for q in qas]])
    captions = vlm.describe(test.images[:150])
    objects = [test.objects(i) for i in range(150)]
    out["caption names the objects"] = _mean([sorted(vqa.caption_objects(c)) == sorted((o.color, o.shape) for o in objs)
                                              for c, objs in zip(captions, objects)])
    out.update(_caption_metrics(captions, [_references(objs) for objs in objects]))
    probes = make_pope(test, negatives="adversarial", seed=0)
    answers = vlm.answer(test.images[[q.index for q in probes]], [q.question for q in probes])
    said_yes = np.array([vqa.normalize_answer(a) == "yes" for a in answers], float)
    truth = np.array([q.answer == "yes" for q in probes], float)
    out["POPE accuracy"] = _mean(said_yes == truth)
    out["POPE F1"] = Metric(np.arange(len(probes)), lambda i: _f1(said_yes[i], truth[i]))
    out["POPE yes ratio"] = Metric(said_yes, higher_is_better=False)
    return out


def _f1(pred: np.ndarray, truth: np.ndarray) -> float:
    tp, fp, fn = (pred * truth).sum(), (pred * (1 - truth)).sum(), ((1 - pred) * truth).sum()
    return float(2 * tp / (2 * tp + fp + fn)) if tp else 0.0


def _clap_sounds() -> dict[str, Metric]:
    model = zoo.load("clap-sounds").eval()
    class_emb = zeroshot.class_embeddings(model, [class_name(s) for s in SOUND_CLASSES], ["{}"])
    out = {}
    for split, name, seed in (("train", "seen", 2), ("holdout", "unseen", 1)):
        clips = make_sound_captions(300, split, seed=seed)
        with torch.no_grad():
            pred = (model.encode_audio(log_mel_batch(clips.waves)) @ class_emb.T).argmax(1)
        out[f"zero-shot {name} sounds"] = _mean((pred == clips.labels).numpy())
    return out


def _wer_metric(refs: Sequence[str], hyps: Sequence[str]) -> Metric:
    errors = np.array([edit_distance(r.split(), h.split()) for r, h in zip(refs, hyps)], float)
    words = np.array([len(r.split()) for r in refs], float)
    return Metric(errors / words, lambda i: float(errors[i].sum() / words[i].sum()), higher_is_better=False)


def _whisper(name: str) -> Callable[[], dict[str, Metric]]:
    def run() -> dict[str, Metric]:
        model, held = zoo.load(name).eval(), load_spoken_digits("heldout")
        hyps = asr.transcribe(model, asr.speech_features(held.waves, 3.0))
        return {"WER, unseen voices": _wer_metric(held.texts, hyps)}
    return run


def _video_motion() -> dict[str, Metric]:
    suite, out = zoo.load("video-motion").eval(), {}
    for task in ("direction", "order"):
        test = make_motion_clips(500, task, seed=1)
        for key, model in suite.items():
            if key.startswith(task):
                right = predict(model, test.videos).argmax(1) == test.labels
                out[f"{task}, {key.split('__')[1]} attention"] = _mean(right.numpy())
    return out


def _frechet_metric(fake: torch.Tensor, reference: FrechetReference) -> Metric:
    rows = fake.double().numpy()  # NumPy rows: indexing a tensor with an index array is 100x slower here
    return Metric(np.arange(len(rows)), lambda i: reference(rows[i]), higher_is_better=False)


def _ldm_shapes() -> dict[str, Metric]:
    clip, judge = zoo.load("clip-shapes").eval(), zoo.load("shapes-cnn")
    schedule = zoo.ENTRIES["ldm-shapes"].recipe["schedule"]
    model = diffusion.TextToImage(vae=zoo.load("vae-shapes"), unet=zoo.load("ldm-shapes"),
                                  schedule=NoiseSchedule.create(schedule["kind"], schedule["timesteps"]),
                                  tokenizer=diffusion.hf_tokenizer(clip), text_encoder=diffusion.hf_text_encoder(clip))
    out = {}
    prompts, colors, shapes = diffusion.shape_prompts(SEEN_PAIRS, 4)
    real = make_shapes(len(prompts), split="train", seed=5).images
    with torch.no_grad():
        reference = FrechetReference(judge.features(real))  # the real side, computed once
    for w in (0.0, 2.0):
        images = model.generate(prompts, steps=25, guidance=w, sampler="ddim", seed=0)
        with torch.no_grad():
            pred = predict(judge, images).argmax(1)
            fake_f = judge.features(images)
            hessel = clip_score(clip.encode_image(images), clip.encode_text(prompts))
        right = (pred == colors * len(SHAPES) + shapes).numpy()
        out[f"prompt accuracy, w={w:g}"] = _mean(right)
        out[f"CLIP score (clip-shapes), w={w:g}"] = _mean(hessel.numpy())
        out[f"FD-shapes, w={w:g}"] = _frechet_metric(fake_f, reference)
    return out


def _unconditional(name: str) -> Callable[[], dict[str, Metric]]:
    """ddpm-pixel-shapes / ddpm-latent-shapes: 128 DDIM-10 samples against 128 real scenes
    (the zoo's own metric uses 256 DDIM-50 samples; the pixel model is slow to sample)."""
    def run() -> dict[str, Metric]:
        judge, recipe = zoo.load("shapes-cnn"), zoo.ENTRIES[name].recipe
        schedule = NoiseSchedule.create(recipe["schedule"]["kind"], recipe["schedule"]["timesteps"])
        vae = zoo.load("vae-shapes") if recipe["space"] == "latent" else None
        images = unconditional.images(zoo.load(name), schedule, 128, vae=vae, steps=10, seed=0)
        with torch.no_grad():
            reference = FrechetReference(judge.features(make_shapes(128, split="train", seed=5).images))
            fake_f, confident = judge.features(images), judge(images).softmax(-1).amax(-1) >= 0.9
        return {"FD-shapes": _frechet_metric(fake_f, reference), "read with confidence": _mean(confident.float().numpy())}

    return run


def _unclip_shapes() -> dict[str, Metric]:
    from .zoo.entries.ch05_unclip import train_prior

    clip, vae, judge = zoo.load("clip-shapes").eval(), zoo.load("vae-shapes"), zoo.load("shapes-cnn")
    recipe = zoo.ENTRIES["unclip-shapes"].recipe
    schedule = NoiseSchedule.create(recipe["schedule"]["kind"], recipe["schedule"]["timesteps"])
    emb_prior, decoder = train_prior(clip, recipe["prior"], progress=False), zoo.load("unclip-shapes")
    prompts, colors, shapes = diffusion.shape_prompts([*SEEN_PAIRS, *HOLDOUT_PAIRS], 2)  # 48 seen, 12 never seen
    with torch.no_grad():
        caption = clip.encode_text(prompts).cpu()
        conditions = {"prior": emb_prior(caption), "caption embedding": caption}
    out = {}
    for name, embeds in conditions.items():
        images = prior.draw(decoder, vae, schedule, embeds, steps=25, guidance=2.0, seed=0)
        right = predict(judge, images).argmax(1) == colors * len(SHAPES) + shapes
        out[f"prompt accuracy, {name}"] = _mean(right.numpy())
    return out


def _vae_vq(name: str) -> Callable[[], dict[str, Metric]]:
    def run() -> dict[str, Metric]:
        model, judge, test = zoo.load(name).eval(), zoo.load("shapes-cnn"), make_shapes(500, seed=1)
        with torch.no_grad():
            if name == "vq-shapes":
                recon = codes_to_image(model, image_to_codes(model, test.images))
            else:
                recon = (model.decode(model.encode(test.images * 2 - 1).latent_dist.mean).sample / 2 + 0.5).clamp(0, 1)
            right = predict(judge, recon).argmax(1) == test.label("pair")
        mse = (recon - test.images).pow(2).flatten(1).mean(1)
        return {"reconstruction read right": _mean(right.numpy()),
                "reconstruction MSE": Metric(mse.numpy(), higher_is_better=False)}
    return run


def _unified_shapes() -> dict[str, Metric]:
    model, vq, judge = zoo.load("unified-shapes").eval(), zoo.load("vq-shapes").eval(), zoo.load("shapes-cnn")
    vocab, out = MultimodalVocabulary(unified_text_tokenizer(), vq.config.num_vq_embeddings, 64), {}
    for split, name, pairs in (("train", "seen", SEEN_PAIRS), ("holdout", "unseen", list(HOLDOUT_PAIRS))):
        prompts, colors, shapes = diffusion.shape_prompts(pairs, 4 if name == "seen" else 16)
        images = unified.draw(model, vocab, vq, prompts, seed=0)
        right = predict(judge, images).argmax(1) == colors * len(SHAPES) + shapes
        out[f"draws the prompt, {name} pairs"] = _mean(right.numpy())
        scenes = make_shapes(200, split=split, seed=7)
        codes = image_to_codes(vq, scenes.images)
        answers = unified.read(model, vocab, codes, ["describe :"] * len(scenes))
        out[f"caption exact, {name} pairs"] = _mean([unified.names_exactly(a, [(o.color, o.shape) for o in
                                                                                  scenes.objects(i)])
                                                     for i, a in enumerate(answers)])
    return out


EVALUATORS: dict[str, Callable[[], dict[str, Metric]]] = {
    "shapes-cnn": _shapes_cnn,
    "clip-shapes": _clip_shapes,
    "vlm-shapes": _vlm_shapes,
    "clap-sounds": _clap_sounds,
    "whisper-digits": _whisper("whisper-digits"),
    "whisper-digits-no-specaugment": _whisper("whisper-digits-no-specaugment"),
    "video-motion": _video_motion,
    "vae-shapes": _vae_vq("vae-shapes"),
    "vq-shapes": _vae_vq("vq-shapes"),
    "ldm-shapes": _ldm_shapes,
    "ddpm-pixel-shapes": _unconditional("ddpm-pixel-shapes"),
    "ddpm-latent-shapes": _unconditional("ddpm-latent-shapes"),
    "unclip-shapes": _unclip_shapes,
    "unified-shapes": _unified_shapes,
}
#: (model A, metric, model B, metric): pairs scored on the same examples, for a paired bootstrap
COMPARISONS = [
    ("whisper-digits", "WER, unseen voices", "whisper-digits-no-specaugment", "WER, unseen voices"),
    ("video-motion", "direction, divided attention", "video-motion", "direction, frame attention"),
    ("ldm-shapes", "prompt accuracy, w=2", "ldm-shapes", "prompt accuracy, w=0"),
    ("unclip-shapes", "prompt accuracy, prior", "unclip-shapes", "prompt accuracy, caption embedding"),
]


@contract(resamples=Int(min=10), seed=Int(min=0))
def evaluate(names: Sequence[str] | None = None, *, resamples: int = 1000, seed: int = 0,
             progress: bool = True) -> dict[str, Any]:
    """Score the named zoo models (all of :data:`EVALUATORS` by default): ``{"models":
    {name: {metric: {value, low, high, n, higher_is_better}}}, "comparisons": [...]}``.

    Used in: chapter 07
    """
    names = list(EVALUATORS) if names is None else list(names)
    unknown = [n for n in names if n not in EVALUATORS]
    if isinstance(names, str) or unknown:
        raise ValueError(f"names: unknown model {unknown or names!r}; known: {list(EVALUATORS)}")
    raw, models = {}, {}
    for name in tqdm(names, desc="evaluate", disable=not progress):
        torch.manual_seed(seed)
        raw[name] = EVALUATORS[name]()
        models[name] = {k: m.score(resamples, seed) for k, m in raw[name].items()}
    comparisons = []
    for a, metric_a, b, metric_b in COMPARISONS:
        if a in raw and b in raw:
            ma, mb = raw[a][metric_a], raw[b][metric_b]
            sign = 1 if ma.higher_is_better else -1  # "A better" means a lower WER
            result = paired_bootstrap(sign * ma.values, sign * mb.values, resamples=resamples, seed=seed)
            comparisons.append({"a": f"{a}: {metric_a}", "b": f"{b}: {metric_b}", **result})
    return {"models": models, "comparisons": comparisons, "resamples": resamples, "seed": seed}


def _fmt(v: float) -> str:
    return f"{v:.3f}" if 0.1 <= abs(v) < 100 or v == 0 else f"{v:.4g}"


@contract()
def report_table(report: dict[str, Any]) -> str:
    """The report as a markdown table: model, metric, value, 95 % interval, n."""
    rows = ["| model | metric | value | 95 % interval | n |", "|---|---|---|---|---|"]
    for name, metrics in report["models"].items():
        for metric, s in metrics.items():
            arrow = "↑" if s["higher_is_better"] else "↓"
            rows.append(f"| {name} | {metric} {arrow} | {_fmt(s['value'])} | {_fmt(s['low'])} – {_fmt(s['high'])} "
                        f"| {s['n']} |")
    if report.get("comparisons"):
        rows += ["", "| A | B | A − B | 95 % interval | p (A not better) |", "|---|---|---|---|---|"]
        rows += [f"| {c['a']} | {c['b']} | {c['difference']:+.3f} | {c['low']:+.3f} – {c['high']:+.3f} | {c['p']:.3f} |"
                 for c in report["comparisons"]]
    return "\n".join(rows)


@contract()
def save_report(report: dict[str, Any], directory: str | Path = "build/evaluation") -> tuple[Path, Path]:
    """Write ``report.json`` and ``report.md`` under ``directory``; return their paths."""
    out = Path(directory)
    out.mkdir(parents=True, exist_ok=True)
    json_path, md_path = out / "report.json", out / "report.md"
    json_path.write_text(json.dumps(report, indent=1))
    md_path.write_text(report_table(report) + "\n")
    return json_path, md_path


__all__ = ["COMPARISONS", "EVALUATORS", "Metric", "evaluate", "report_table", "save_report"]
