"""Checks pass the reference, fail broken code with a hint, and report stubs as such."""

import json
import math

import numpy as np
import pytest
import torch
import torch.nn.functional as F

import mmcourse
from mmcourse import audio, chat, checks, metrics, patches, video, zeroshot
from mmcourse.metrics import vqa
from mmcourse.metrics.captioning import bleu, bleu_statistics
from mmcourse.metrics.image import frechet_distance
from mmcourse.metrics.speech import word_error_rate
from mmcourse.metrics.stats import mean_ci
from mmcourse.models import count_parameters, fusion
from mmcourse.models.clip import clip_loss, hardest_negatives
from mmcourse.models.schedulers import NoiseSchedule, add_noise, ddpm_step
from mmcourse.models.vae import gaussian_kl, reparameterise
from mmcourse.models.vlm import Projector, splice_image_features
from mmcourse.models.vq import quantise
from mmcourse.sampling import guided_logits, modality_mask
from mmcourse.sequences import task_example
from mmcourse.train import train_step


def _bleu_without_brevity_penalty(cands, refs):
    total = bleu_statistics(cands, refs).sum(0)
    return float(np.prod(total[2:6] / total[6:10]) ** 0.25)


def _frechet_elementwise_sqrt(a, b):  # (S_a S_b)^1/2 taken entry by entry
    sa, sb = np.cov(a.double().numpy(), rowvar=False), np.cov(b.double().numpy(), rowvar=False)
    mean = float(((a.double().mean(0) - b.double().mean(0)) ** 2).sum())
    return mean + float(np.trace(sa + sb - 2 * np.sqrt(np.abs(sa * sb))))


class _LinearProjector(torch.nn.Module):  # LLaVA v1's linear projector: no hidden layer
    def __init__(self, dv, d):
        super().__init__()
        self.linear_1, self.linear_2 = torch.nn.Linear(dv, d), torch.nn.Linear(d, d)

    def forward(self, x):
        return self.linear_2(self.linear_1(x))


def _splice_without_ignore(embeds, ids, feats, tok, labels):
    e, lab, _ = splice_image_features(embeds, ids, feats, tok, labels)
    fill = torch.where(ids == tok, 0, labels)  # image positions keep a label: the model is asked to predict them
    _, lab2, _ = splice_image_features(embeds, ids, feats, tok, fill)
    return e, torch.where(lab == -100, 0, lab2)


def _quantise_no_straight_through(z, codebook):
    q = quantise(z, codebook)
    return q.z_q.detach(), q.codes  # the encoder gets no gradient


def _mask_codes_anywhere(vocab, state):
    mask = modality_mask(vocab, state)
    mask[:, vocab.image_offset:] = True  # codes allowed outside an image too
    return mask


def _caption_all_labelled(vocab, codes, caption):
    ids, _ = task_example(vocab, "caption", codes, caption)
    return ids, list(ids)  # learns to write the image and the instruction as well


def _stub(*args, **kwargs):
    raise NotImplementedError("Exercise 99.1")


def _count_no_frozen_filter(model, trainable_only=False):
    return sum(p.numel() for p in model.parameters())


def _reference_mask(features, f0, f, t0, t):
    out, fill = features.clone(), features.mean()
    out[f0:f0 + f, :] = fill
    out[:, t0:t0 + t] = fill
    return out


def _mask_in_place(features, f0, f, t0, t):  # changes the learner's input
    features[f0:f0 + f, :] = features.mean()
    features[:, t0:t0 + t] = features.mean()
    return features


def _step_without_zero_grad(model, batch, optimizer):
    x, y = batch
    loss = F.cross_entropy(model(x), y)
    loss.backward()
    optimizer.step()
    return loss.item()


def _ddpm_reference(x_t, eps, t, betas, z):
    return ddpm_step(NoiseSchedule(betas.double()), eps, t, x_t, noise=z)


def _ddpm_without_rescale(x_t, eps, t, betas, z):  # forgets the 1 / sqrt(alpha_t)
    abar = torch.cumprod(1 - betas, 0)
    mean = x_t - betas[t] / (1 - abar[t]).sqrt() * eps
    sigma = ((1 - abar[t - 1]) / (1 - abar[t]) * betas[t]).sqrt() if t > 0 else 0.0
    return mean + sigma * z


REFERENCE = {
    "metrics.accuracy": metrics.accuracy,
    "metrics.confusion_matrix": metrics.confusion_matrix,
    "train.count_parameters": count_parameters,
    "train.train_step": train_step,
    "patches.patchify": patches.patchify,
    "audio.mel_filterbank": lambda n, m, r: audio.mel_filterbank(n, m, r, scale="htk", norm=None),
    "video.sample_segments": lambda n, k: video.sample_segments(n, k, train=False),
    "fusion.similarity_matrix": fusion.similarity_matrix,
    "clip.info_nce": clip_loss,
    "clip.zero_shot_classifier": zeroshot.class_embeddings,
    "metrics.recall_at_k": lambda s, r, k: metrics.recall_at_k(metrics.retrieval_ranks(s, r), k),
    "clip.hardest_negatives": hardest_negatives,
    "vlm.projector": Projector,
    "vlm.splice": lambda e, i, f, t, lab: splice_image_features(e, i, f, t, lab)[:2],
    "vlm.chat_prompt": chat.build_prompt,
    "vlm.vqa_exact_match": vqa.exact_match,
    "video.count_tokens": video.video_tokens,
    "video.divided_reshapes": lambda x: (x.transpose(1, 2).reshape(-1, x.shape[1], x.shape[3]),
                                         x.reshape(-1, x.shape[2], x.shape[3])),
    "speech.wer": word_error_rate,
    "audio.spec_mask": _reference_mask,
    "diffusion.add_noise": lambda x0, n, t, b: add_noise(NoiseSchedule(b.double()), x0, n, t),
    "diffusion.ddpm_step": _ddpm_reference,
    "diffusion.cfg": lambda u, c, w: (1 + w) * c - w * u,
    "vae.sample_kl": lambda m, lv, n: (reparameterise(m, lv, n), gaussian_kl(m, lv)),
    "vq.quantise": lambda z, cb: quantise(z, cb)[:2],
    "unified.image_ids": lambda codes, T: [T, *(codes.flatten() + T + 2).tolist(), T + 1],
    "unified.modality_mask": modality_mask,
    "unified.caption_labels": lambda v, c, cap: task_example(v, "caption", c, cap),
    "unified.guided_logits": guided_logits,
    "eval.bleu": lambda c, r: bleu(c, r)["BLEU-4"],
    "eval.vqa_accuracy": vqa.vqa_accuracy,
    "eval.frechet_distance": frechet_distance,
    "eval.cider_tfidf": lambda counts, df, n: {g: tf * (math.log(n) - math.log(max(1.0, df.get(g, 0.0))))
                                               for g, tf in counts.items()},
    "eval.bootstrap_ci": lambda v, r, seed: mean_ci(v, resamples=r, seed=seed)[1:],
}
BROKEN = {
    "metrics.accuracy": lambda logits, labels: (logits.argmin(1) == labels).float().mean().item(),
    "metrics.confusion_matrix": lambda p, y, c: metrics.confusion_matrix(p, y, c).T,
    "train.count_parameters": _count_no_frozen_filter,
    "train.train_step": _step_without_zero_grad,
    # patches flattened (P, P, C) instead of (C, P, P)
    "patches.patchify": lambda x, p: patches.patchify(x, p).reshape(*patches.patchify(x, p).shape[:2], x.shape[1], -1)
    .transpose(-1, -2).flatten(2),
    "audio.mel_filterbank": lambda n, m, r: audio.mel_filterbank(n, m, r, scale="slaney", norm=None),
    "video.sample_segments": lambda n, k: video.sample_uniform(n, k) if k <= n else [0] * k,
    "fusion.similarity_matrix": lambda a, b: a @ b.T,
    "clip.info_nce": lambda logits: F.cross_entropy(logits, torch.arange(len(logits))),
    # mean of the normalised template embeddings, not re-normalised
    "clip.zero_shot_classifier": lambda m, names, ts: torch.stack([m.encode_text([t.format(n) for n in names])
                                                                   for t in ts]).mean(0),
    # top-k by topk(): ties broken by index, in the query's favour
    "metrics.recall_at_k": lambda s, r, k: (s.topk(k, dim=1).indices == r[:, None]).any(1).float().mean().item(),
    "clip.hardest_negatives": lambda s: s.argmax(1),  # forgets to exclude the matching pair
    "vlm.projector": _LinearProjector,
    "vlm.splice": _splice_without_ignore,
    "vlm.chat_prompt": lambda m, g: chat.build_prompt(m, g).replace("</s>", ""),  # forgets the end of turn
    "vlm.vqa_exact_match": lambda p, a: sum(x == y for x, y in zip(p, a)) / len(a),  # no normalisation
    "video.count_tokens": lambda t, h, w, p, tub: t * (h // p) * (w // p),  # forgets the tubelet
    # reshapes (B, T, N, D) straight to (B*N, T, D): right shape, tokens of different patches mixed
    "video.divided_reshapes": lambda x: (x.reshape(-1, x.shape[1], x.shape[3]), x.reshape(-1, x.shape[2], x.shape[3])),
    # averages per-utterance rates instead of pooling the edits over the corpus
    "speech.wer": lambda r, h: sum(word_error_rate([a], [b]) for a, b in zip(r, h)) / len(r),
    "audio.spec_mask": _mask_in_place,
    # beta_t where abar_t (the cumulative product) belongs
    "diffusion.add_noise": lambda x0, n, t, b: ((1 - b[t]).sqrt()[:, None, None, None] * x0
                                                + b[t].sqrt()[:, None, None, None] * n),
    "diffusion.ddpm_step": _ddpm_without_rescale,
    "diffusion.cfg": lambda u, c, w: u + w * (c - u),  # diffusers' guidance_scale where w belongs
    "vae.sample_kl": lambda m, lv, n: (m + lv.exp() * n, gaussian_kl(m, lv)),  # variance used as sigma
    "vq.quantise": _quantise_no_straight_through,
    "unified.image_ids": lambda codes, T: [T, *(codes.flatten() + T).tolist(), T + 1],  # offset forgets the specials
    "unified.modality_mask": _mask_codes_anywhere,
    "unified.caption_labels": _caption_all_labelled,
    "unified.guided_logits": lambda c, u, w: u + w * (c - u),  # guidance_scale convention where w belongs
    "eval.bleu": _bleu_without_brevity_penalty,
    "eval.vqa_accuracy": lambda p, humans: min(1.0, humans.count(p) / 3),  # no leave-one-out average
    "eval.frechet_distance": _frechet_elementwise_sqrt,
    "eval.cider_tfidf": lambda counts, df, n: {g: tf * math.log(n / (df.get(g, 0.0) + 1)) for g, tf in counts.items()},
    "eval.bootstrap_ci": lambda v, r, seed: tuple(np.percentile(v, [2.5, 97.5])),  # percentiles of the values
}


def test_every_check_has_a_reference_and_a_broken_twin_here():
    assert set(REFERENCE) == set(BROKEN) == set(checks.available())


@pytest.mark.parametrize("name", sorted(REFERENCE))
def test_reference_passes(name):
    assert checks.run(name, REFERENCE[name]).passed


@pytest.mark.parametrize("name", sorted(BROKEN))
def test_broken_code_fails_with_a_hint(name):
    result = checks.run(name, BROKEN[name])
    assert not result.passed and result.error == "AssertionError" and len(result.message) > 20


@pytest.mark.parametrize("name", sorted(REFERENCE))
def test_stub_is_reported_as_not_implemented(name):
    result = checks.run(name, _stub)
    assert result.error == "NotImplementedError" and "Exercise 99.1" in result.message


def test_crash_in_learner_code_is_reported():
    result = checks.run("metrics.accuracy", lambda a, b: 1 / 0)
    assert result.error == "ZeroDivisionError" and "your code raised" in result.message
    result = checks.run("metrics.accuracy", 3)
    assert result.error == "AssertionError" and "function itself" in result.message


def test_check_prints_records_and_raises(tmp_path, monkeypatch, capsys):
    log = tmp_path / "log.jsonl"
    monkeypatch.setenv(checks.GRADE_LOG_ENV, str(log))
    mmcourse.check("metrics.accuracy", metrics.accuracy)
    assert "passed" in capsys.readouterr().out
    with pytest.raises(checks.CheckFailed) as info:
        mmcourse.check("metrics.accuracy", _stub)
    assert info.value._render_traceback_()[0].startswith("\u274c check 'metrics.accuracy' failed")
    lines = [json.loads(x) for x in log.read_text().splitlines()]
    assert [r["passed"] for r in lines] == [True, False] and lines[1]["error"] == "NotImplementedError"
    with pytest.raises(ValueError, match="name='nope' is not a check; known checks"):
        mmcourse.check("nope", metrics.accuracy)


@pytest.mark.parametrize("name", sorted(REFERENCE))
def test_checks_do_not_disturb_the_global_seed(name):
    torch.manual_seed(123)
    checks.run(name, REFERENCE[name])
    a = torch.rand(1)
    torch.manual_seed(123)
    assert torch.equal(a, torch.rand(1))


# -- the mistakes learners make, each with the hint that must name it ----------------------
def _accuracy_argmax0(logits, labels):
    return (logits.argmax(0) == labels).float().mean().item()


def _accuracy_no_float(logits, labels):
    return (logits.argmax(1) == labels).mean().item()


def _accuracy_no_return(logits, labels):
    (logits.argmax(1) == labels).float().mean().item()


def _accuracy_tensor(logits, labels):
    return (logits.argmax(1) == labels).float().mean()


def _accuracy_percent(logits, labels):
    return 100 * (logits.argmax(1) == labels).float().mean().item()


def _confusion_vectorised(preds, labels, num_classes):
    M = torch.zeros(num_classes, num_classes, dtype=torch.long)
    M[labels, preds] += 1  # repeated (label, pred) pairs are written, not added
    return M


def _count_tensors(model, trainable_only=False):
    return len(list(model.parameters()))


def _step_loss_after(model, batch, optimizer):
    x, y = batch
    loss = F.cross_entropy(model(x), y)
    optimizer.zero_grad()
    loss.backward()
    optimizer.step()
    return F.cross_entropy(model(x), y).item()


def _step_no_backward(model, batch, optimizer):
    x, y = batch
    loss = F.cross_entropy(model(x), y)
    optimizer.zero_grad()
    optimizer.step()
    return loss.item()


def _info_nce_item(logits):
    return clip_loss(logits).item()


MISTAKES = [
    ("metrics.accuracy", _accuracy_argmax0, "argmax(dim=1)"),
    ("metrics.accuracy", _accuracy_no_float, "convert it with .float() before .mean()"),
    ("metrics.accuracy", _accuracy_no_return, "did you forget `return`"),
    ("metrics.accuracy", _accuracy_tensor, "asks for a Python float: end with .item()"),
    ("metrics.accuracy", _accuracy_percent, "that is a percentage"),
    ("metrics.confusion_matrix", _confusion_vectorised, "does not add up repeated pairs"),
    ("metrics.confusion_matrix", lambda p, y, c: metrics.confusion_matrix(p, y, c).T, "rows and columns are swapped"),
    ("metrics.confusion_matrix", lambda p, y, c: metrics.confusion_matrix(p, y, c).numpy(), "NumPy array"),
    ("train.count_parameters", _count_tensors, "count the numbers in them"),
    ("train.count_parameters", _count_no_frozen_filter, "skip parameters whose requires_grad is False"),
    ("train.count_parameters", lambda m, trainable_only=False: float(count_parameters(m)), "should return an int"),
    ("train.train_step", _step_without_zero_grad, "did you forget optimizer.zero_grad()"),
    ("train.train_step", _step_loss_after, "loss after the update"),
    ("train.train_step", _step_no_backward, "the weights did not change"),
    ("clip.info_nce", lambda logits: F.cross_entropy(logits, torch.arange(len(logits))), "only the image->text"),
    ("clip.info_nce", _info_nce_item, "a loss must stay a torch tensor"),
    ("metrics.recall_at_k", lambda s, r, k: (s.topk(k, dim=1).indices == r[:, None]).any(1).mean().item(),
     "convert it with .float() before .mean()"),
    ("fusion.similarity_matrix", lambda a, b: a @ b.T, "raw dot product"),
    ("video.sample_segments", lambda n, k: None, "did you forget `return`"),
]


@pytest.mark.parametrize("name, mistake, hint", MISTAKES, ids=[f"{n}-{m.__name__}" for n, m, _ in MISTAKES])
def test_each_common_mistake_gets_a_hint_that_names_it(name, mistake, hint):
    result = checks.run(name, mistake)
    assert not result.passed and result.error == "AssertionError", result
    assert hint in result.message, result.message


# -- wrong answers that used to pass (issue 31), each now rejected with a hint naming it ----------
def _bleu_shortest_reference(cands, refs):
    stats = bleu_statistics(cands, refs).sum(0)
    c, r = sum(len(x.split()) for x in cands), sum(min(len(y.split()) for y in rs) for rs in refs)
    return float(np.prod(stats[2:6] / stats[6:10]) ** 0.25) * (math.exp(1 - r / c) if c < r else 1.0)


def _bootstrap_90(values, resamples, seed):
    rng = np.random.default_rng(seed)
    means = [values[rng.integers(0, len(values), len(values))].mean() for _ in range(resamples)]
    return tuple(float(x) for x in np.percentile(means, [5, 95]))


def _bootstrap_normal(values, resamples, seed):  # no resampling: mean +- 1.96 standard errors
    se = values.std(ddof=1) / math.sqrt(len(values))
    return float(values.mean() - 1.96 * se), float(values.mean() + 1.96 * se)


def _bootstrap_se_symmetric(values, resamples, seed):  # resamples, but only for the standard error
    rng = np.random.default_rng(seed)
    means = np.array([values[rng.integers(0, len(values), len(values))].mean() for _ in range(resamples)])
    return float(values.mean() - 1.96 * means.std()), float(values.mean() + 1.96 * means.std())


def _frechet(a, b, ddof=1, factor=2.0):
    import scipy.linalg

    a, b = a.double().numpy(), b.double().numpy()
    sa, sb = np.cov(a, rowvar=False, ddof=ddof), np.cov(b, rowvar=False, ddof=ddof)
    return float(((a.mean(0) - b.mean(0)) ** 2).sum() + np.trace(sa + sb - factor * scipy.linalg.sqrtm(sa @ sb).real))


def _cfg_in_place(u, c, w):
    c.mul_(1 + w).sub_(w * u)  # right value, but the sampler's eps_cond is gone
    return c


def _caption_labels_shifted(vocab, codes, caption):
    ids, labels = task_example(vocab, "caption", codes, caption)
    return ids, labels[1:] + [-100]


FORMERLY_PASSING = [
    ("eval.bleu", _bleu_shortest_reference, "shortest reference length"),
    ("eval.bootstrap_ci", _bootstrap_90, "give a 90% interval"),
    ("eval.bootstrap_ci", _bootstrap_normal, "it does not resample"),
    ("eval.bootstrap_ci", _bootstrap_se_symmetric, "symmetric around the mean"),
    ("eval.frechet_distance", lambda a, b: _frechet(a, b, ddof=0), "divided the covariances by N"),
    ("eval.frechet_distance", lambda a, b: _frechet(a, b, factor=1.0), "the factor 2 is missing"),
    ("diffusion.cfg", _cfg_in_place, "changed its inputs in place"),
    ("diffusion.cfg", lambda u, c, w: c - w * (c - u), "points the wrong way"),
    ("unified.modality_mask", lambda vocab, state: modality_mask(vocab, state).long(), "return a torch.bool mask"),
    ("unified.image_ids", lambda codes, T: torch.tensor([T, *(codes.flatten() + T + 2).tolist(), T + 1]),
     "return a Python list of ints"),
    ("unified.caption_labels", _caption_labels_shifted, "shifted by one"),
    ("unified.guided_logits", lambda c, u, w: c - w * (c - u), "point the wrong way"),
]


@pytest.mark.parametrize("name, mistake, hint", FORMERLY_PASSING,
                         ids=[f"{n}-{h.split()[0]}" for n, _, h in FORMERLY_PASSING])
def test_wrong_answers_that_used_to_pass_are_named(name, mistake, hint):
    result = checks.run(name, mistake)
    assert not result.passed and result.error == "AssertionError", result
    assert hint in result.message, result.message


# -- right answers written another way must still pass ----------------------------------------
def _bootstrap_choice(values, resamples, seed):
    rng = np.random.default_rng(seed)
    means = [rng.choice(values, len(values)).mean() for _ in range(resamples)]
    return tuple(float(x) for x in np.percentile(means, [2.5, 97.5]))


def _bootstrap_vectorised(values, resamples, seed):
    means = values[np.random.default_rng(seed).integers(0, len(values), (resamples, len(values)))].mean(1)
    low, high = np.quantile(means, [0.025, 0.975])
    return float(low), float(high)


def _bootstrap_torch(values, resamples, seed):
    g, v = torch.Generator().manual_seed(seed), torch.as_tensor(values)
    means = v[torch.randint(0, len(v), (resamples, len(v)), generator=g)].mean(1)
    return float(means.quantile(0.025)), float(means.quantile(0.975))


VALID_VARIANTS = [
    ("eval.bootstrap_ci", _bootstrap_choice),
    ("eval.bootstrap_ci", _bootstrap_vectorised),
    ("eval.bootstrap_ci", _bootstrap_torch),
    ("eval.frechet_distance", _frechet),
    ("diffusion.cfg", lambda u, c, w: c + w * (c - u)),
    ("unified.image_ids", lambda codes, T: [T] + [T + 2 + int(c) for c in codes.flatten()] + [T + 1]),
]


@pytest.mark.parametrize("name, variant", VALID_VARIANTS, ids=[f"{n}-{i}" for i, (n, _) in enumerate(VALID_VARIANTS)])
def test_right_answers_written_another_way_pass(name, variant):
    result = checks.run(name, variant)
    assert result.passed, result.message


# -- values that lie about themselves score nothing -------------------------------------------
class LyingFloat(float):
    """Says it equals anything, and that any difference from it is zero."""

    def __eq__(self, other):
        return True

    __hash__ = float.__hash__

    def __sub__(self, other):
        return 0.0

    __rsub__ = __sub__

    def __float__(self):
        return 0.0


class LyingInt(int):
    def __eq__(self, other):
        return True

    __hash__ = int.__hash__

    def __sub__(self, other):
        return 0

    __rsub__ = __sub__


class LyingTensor(torch.Tensor):
    """A tensor that answers "equal" and "close" to every comparison."""

    @classmethod
    def __torch_function__(cls, func, types, args=(), kwargs=None):
        if func in (torch.equal, torch.allclose, torch.Tensor.equal, torch.Tensor.allclose, torch.isclose):
            return True
        return super().__torch_function__(func, types, args, kwargs or {})


class LyingList(list):
    def __eq__(self, other):
        return True

    def __len__(self):
        return 999


class LyingStr(str):
    def __eq__(self, other):
        return True

    __hash__ = str.__hash__


class LyingDict(dict):
    def __getitem__(self, key):
        return 0.0


def _tensor_liar(shape_from=None):
    return lambda *args, **kwargs: torch.zeros(3).as_subclass(LyingTensor)


LIARS = [
    ("metrics.accuracy", lambda logits, labels: LyingFloat(0.0)),
    ("eval.bleu", lambda c, r: LyingFloat(0.0)),
    ("vlm.vqa_exact_match", lambda p, a: LyingFloat(0.0)),
    ("train.count_parameters", lambda m, trainable_only=False: LyingInt(0)),
    ("video.count_tokens", lambda t, h, w, p, tub: LyingInt(0)),
    ("metrics.confusion_matrix", lambda p, y, c: torch.zeros(c, c, dtype=torch.long).as_subclass(LyingTensor)),
    ("diffusion.cfg", lambda u, c, w: torch.zeros_like(c).as_subclass(LyingTensor)),
    ("unified.guided_logits", lambda c, u, w: torch.zeros_like(c).as_subclass(LyingTensor)),
    ("video.sample_segments", lambda n, k: LyingList([0] * k)),
    ("vlm.chat_prompt", lambda m, g: LyingStr("")),
    ("eval.cider_tfidf", lambda counts, df, n: LyingDict({g: 0.0 for g in counts})),
    ("eval.bootstrap_ci", lambda v, r, seed: (LyingFloat(0.0), LyingFloat(1.0))),
]


@pytest.mark.parametrize("name, liar", LIARS, ids=[n for n, _ in LIARS])
def test_values_that_lie_about_themselves_score_nothing(name, liar):
    result = checks.run(name, liar)
    assert not result.passed and result.error == "AssertionError", result


def test_plain_copies_values_out_of_lying_subclasses():
    from mmcourse.checks._util import plain

    got = plain([LyingFloat(2.5), LyingInt(3), LyingStr("a"), (LyingFloat(1.0),), {LyingStr("k"): LyingInt(1)}])
    assert got == [2.5, 3, "a", (1.0,), {"k": 1}] and [type(x) for x in got] == [float, int, str, tuple, dict]
    t = plain(torch.ones(2).as_subclass(LyingTensor))
    assert type(t) is torch.Tensor and not torch.equal(t, torch.zeros(2))
    assert type(plain(LyingList([1]))) is list and len(plain(LyingList([1]))) == 1
    with pytest.raises(AssertionError, match="returned a .*object; expected a number"):
        plain(object(), "your function")
