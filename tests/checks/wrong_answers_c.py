"""Wrong answers to the checks of chapters 06-07 (unified, evaluation), collected in a review of the
checks (issue 31): CANDIDATES passed the checks of the time, MISLEADING failed with a hint naming the
wrong cause, LIARS return values that lie about themselves. tests/checks/test_wrong_answers.py keeps
every one failing."""

import math
from collections import Counter

import numpy as np
import torch
import torch.nn.functional as F  # noqa: F401

from mmcourse.models.vq import nearest_codes, quantise
from mmcourse.sampling import modality_mask  # noqa: F401
from mmcourse.sequences import task_example
from mmcourse.tokens import unified_text_tokenizer


# ----------------------------------------------------------------------------- 06.1 vq.quantise
def _vq_codebook_gets_decoder_grad(z, codebook):
    # "straight-through" written as e + (z - sg(z)): forward e, dz = upstream, but the decoder's
    # gradient also flows into the codebook rows (VQ-VAE trains them only through the codebook loss)
    B, D, H, W = z.shape
    codes = torch.cdist(z.permute(0, 2, 3, 1).reshape(-1, D), codebook).argmin(1).view(B, H, W)
    e = codebook[codes].permute(0, 3, 1, 2)
    return e + (z - z.detach()), codes


def _vq_square_grid_only(z, codebook):
    B, D, H, _ = z.shape  # assumes H == W: view(B, H, H) crashes / misplaces codes on a 4x8 grid
    codes = torch.cdist(z.permute(0, 2, 3, 1).reshape(-1, D), codebook).argmin(1).view(B, H, H)
    e = codebook[codes].permute(0, 3, 1, 2)
    return z + (e - z).detach(), codes


def _vq_float_codes(z, codebook):
    q = quantise(z, codebook)
    return q.z_q, q.codes.float()  # codebook[codes] raises IndexError later; the check calls codes.long()


# ----------------------------------------------------------------------------- 06.2 unified.image_ids
def _image_ids_in_place(codes, text_size):
    codes += text_size + 2  # shifts the caller's code grid
    return [text_size, *codes.flatten().tolist(), text_size + 1]


def _image_ids_ignores_text_size(codes, text_size):
    T = len(unified_text_tokenizer())  # the chapter's vocabulary, not the argument
    return [T, *(codes.flatten() + T + 2).tolist(), T + 1]


# ----------------------------------------------------------------------------- 06.3 unified.modality_mask
def _mask_hardcoded_specials(vocab, codes_so_far):
    ids = torch.arange(len(vocab))
    text = (ids < vocab.text_size) & (ids != 0) & (ids != 2) | (ids == vocab.boi)  # <pad>=0, <s>=2 hard-coded
    rows = []
    for n in codes_so_far.tolist():
        rows.append(text if n < 0 else (ids >= vocab.image_offset) if n < vocab.tokens_per_image else ids == vocab.eoi)
    return torch.stack(rows)


def _mask_full_only_at_exactly_n(vocab, codes_so_far):
    ids = torch.arange(len(vocab))
    text = (ids < vocab.text_size) & (ids != vocab.pad) & (ids != vocab.bos) | (ids == vocab.boi)
    rows = []
    for n in codes_so_far.tolist():
        if n < 0:
            rows.append(text)
        elif n == vocab.tokens_per_image:  # n > tokens_per_image falls through to "codes" again
            rows.append(ids == vocab.eoi)
        else:
            rows.append(ids >= vocab.image_offset)
    return torch.stack(rows)


# ----------------------------------------------------------------------------- 06.4 unified.caption_labels
def _caption_tensor_elements(vocab, codes, caption):
    # image span built by unpacking a tensor: the ids list holds 0-d tensors, not ints (06.2 now rejects this)
    prompt = [vocab.bos, vocab.boi, *(codes.flatten() + vocab.image_offset), vocab.eoi, *vocab.encode_text("describe :")]
    target = [*vocab.encode_text(caption), vocab.eos]
    return prompt + target, [-100] * len(prompt) + target


def _caption_float_labels(vocab, codes, caption):
    prompt = [vocab.bos, *vocab.encode_image(codes), *vocab.encode_text("describe :")]
    target = [*vocab.encode_text(caption), vocab.eos]
    labels = torch.full((len(prompt) + len(target),), -100.0)  # float32: cross_entropy reads float targets as probabilities
    labels[len(prompt):] = torch.tensor(target, dtype=torch.float32)
    return prompt + target, labels


def _caption_in_place(vocab, codes, caption):
    codes += vocab.image_offset  # shifts the caller's grid
    prompt = [vocab.bos, vocab.boi, *codes.flatten().tolist(), vocab.eoi, *vocab.encode_text("describe :")]
    target = [*vocab.encode_text(caption), vocab.eos]
    return prompt + target, [-100] * len(prompt) + target


def _caption_tensors(vocab, codes, caption):
    ids, labels = task_example(vocab, "caption", codes, caption)
    return torch.tensor(ids), torch.tensor(labels)  # tensors where lists are asked (06.2 rejects the same thing)


# ----------------------------------------------------------------------------- 06.5 unified.guided_logits
def _guide_in_place(cond, uncond, w):
    cond += w * (cond - uncond)  # right value, but generate() reuses cond.logits for plausible()
    return cond


# ----------------------------------------------------------------------------- 07.1 eval.bleu
def _ngrams(words, n):
    return Counter(tuple(words[i:i + n]) for i in range(len(words) - n + 1))


def _bleu_generic(cands, refs, clip="max", tie="shorter"):
    matches, totals, c, r = [0] * 4, [0] * 4, 0, 0
    pooled_c, pooled_m = [Counter() for _ in range(4)], [Counter() for _ in range(4)]
    for cand, rs in zip(cands, refs):
        w, rw = cand.split(), [x.split() for x in rs]
        c += len(w)
        if tie == "shorter":
            r += min((abs(len(x) - len(w)), len(x)) for x in rw)[1]
        else:  # ties go to the longer reference
            r += min((abs(len(x) - len(w)), -len(x)) for x in rw)[1] * -1
        for n in range(1, 5):
            g = _ngrams(w, n)
            totals[n - 1] += max(0, len(w) - n + 1)
            most = Counter()
            for x in rw:
                most |= _ngrams(x, n)
            if clip == "max":
                matches[n - 1] += sum(min(k, most[t]) for t, k in g.items())
            elif clip == "best_reference":  # max over references of the clipped total, not max per n-gram
                matches[n - 1] += max(sum(min(k, _ngrams(x, n)[t]) for t, k in g.items()) for x in rw)
            elif clip == "pooled":  # n-gram counts summed over the corpus first, then clipped once
                pooled_c[n - 1] += g
                pooled_m[n - 1] += most
    if clip == "pooled":
        matches = [sum(min(k, pooled_m[i][t]) for t, k in pooled_c[i].items()) for i in range(4)]
    p = math.exp(sum(math.log(m / t) for m, t in zip(matches, totals)) / 4)
    return p * (math.exp(1 - r / c) if c < r else 1.0)


def _bleu_ties_to_longer(cands, refs):
    return _bleu_generic(cands, refs, tie="longer")


def _bleu_best_single_reference(cands, refs):
    return _bleu_generic(cands, refs, clip="best_reference")


def _bleu_corpus_pooled_clipping(cands, refs):
    return _bleu_generic(cands, refs, clip="pooled")


# ----------------------------------------------------------------------------- 07.2 eval.vqa_accuracy
def _vqa_point_three(prediction, human_answers):
    return min(1.0, 0.3 * human_answers.count(prediction))  # = the leave-one-out mean only for exactly 10 answers


def _vqa_substring(prediction, human_answers):
    scores = []
    for i in range(len(human_answers)):
        others = human_answers[:i] + human_answers[i + 1:]
        scores.append(min(1.0, sum(prediction in a for a in others) / 3))  # "2" matches "12", "red" matches "red and blue"
    return sum(scores) / len(scores)


# ----------------------------------------------------------------------------- 07.3 eval.frechet_distance
def _frechet_centres_inputs_in_place(features_a, features_b):
    mu_a, mu_b = features_a.mean(0), features_b.mean(0)
    features_a -= mu_a  # the caller's features are centred for good: a second FD(real, other) is wrong
    features_b -= mu_b
    sa = (features_a.T @ features_a / (len(features_a) - 1)).double().numpy()
    sb = (features_b.T @ features_b / (len(features_b) - 1)).double().numpy()
    cross = np.sqrt(np.clip(np.linalg.eigvals(sa @ sb).real, 0, None)).sum()
    return float(((mu_a - mu_b).double() ** 2).sum() + np.trace(sa) + np.trace(sb) - 2 * cross)


# ----------------------------------------------------------------------------- 07.4 eval.cider_tfidf
def _tfidf_in_place(counts, document_frequency, num_images):
    for g in counts:  # overwrites the caller's Counter (cider_d reuses it for the length penalty)
        counts[g] = counts[g] * (math.log(num_images) - math.log(max(1.0, document_frequency.get(g, 0.0))))
    return counts


def _tfidf_default_one(counts, document_frequency, num_images):
    # right for a *missing* n-gram only: an explicit df of 0 (the spec's "missing = 0") divides by zero
    return {g: tf * math.log(num_images / document_frequency.get(g, 1)) for g, tf in counts.items()}


# ----------------------------------------------------------------------------- 07.5 eval.bootstrap_ci
def _boot_global_rng(values, resamples, seed):
    n = len(values)  # seed ignored: np.random's global state, not default_rng(seed); not reproducible
    means = [np.random.choice(values, n).mean() for _ in range(resamples)]
    low, high = np.percentile(means, [2.5, 97.5])
    return float(low), float(high)


def _boot_ignores_resamples(values, resamples, seed):
    rng, n = np.random.default_rng(seed), len(values)
    means = [values[rng.integers(0, n, n)].mean() for _ in range(1000)]  # hard-coded 1000
    low, high = np.percentile(means, [2.5, 97.5])
    return float(low), float(high)


def _boot_inclusive_high(values, resamples, seed):
    rng, n = np.random.default_rng(seed), len(values)
    means = [values[rng.integers(0, n - 1, n)].mean() for _ in range(resamples)]  # never draws the last example
    low, high = np.percentile(means, [2.5, 97.5])
    return float(low), float(high)


CANDIDATES = [
    ("vq.quantise", "z_q = e + (z - z.detach()): forward and z-gradient right, but the decoder gradient also reaches "
     "the codebook; the check's codebook has requires_grad=False so it cannot see it", _vq_codebook_gets_decoder_grad),
    ("vq.quantise", "assumes a square grid (B, D, H, _ = z.shape; view(B, H, H)); every tested grid is H x H",
     _vq_square_grid_only),
    ("vq.quantise", "codes returned as float; the check compares codes.long(), so it never sees the dtype",
     _vq_float_codes),
    ("unified.image_ids", "codes += text_size + 2 shifts the caller's grid in place; the check passes codes.clone()",
     _image_ids_in_place),
    ("unified.image_ids", "ignores the text_size argument (uses the chapter tokenizer's size); both test vocabularies "
     "share one text tokenizer, so text_size never varies", _image_ids_ignores_text_size),
    ("unified.modality_mask", "hard-codes <pad>=0 and <s>=2 instead of vocab.pad / vocab.bos; both test vocabularies "
     "share the text tokenizer", _mask_hardcoded_specials),
    ("unified.modality_mask", "'full' tested with n == tokens_per_image; n > tokens_per_image gets codes again "
     "(states tested: -1, 0, N//2, N-1, N only)", _mask_full_only_at_exactly_n),
    ("unified.caption_labels", "image span unpacked from a tensor without .tolist(): ids hold 0-d tensors; "
     "list == list compares tensor(5) == 5 -> True (06.2 now demands type(i) is int, 06.4 does not)",
     _caption_tensor_elements),
    ("unified.caption_labels", "labels built with torch.full(..., -100.0): a float32 tensor; .tolist() gives -100.0 "
     "which == -100", _caption_float_labels),
    ("unified.caption_labels", "codes += vocab.image_offset in place on the caller's grid", _caption_in_place),
    ("unified.caption_labels", "returns int64 tensors where lists are asked (the check converts them; 06.2 refuses)",
     _caption_tensors),
    ("unified.guided_logits", "cond += w * (cond - uncond); return cond: right value, caller's cond logits overwritten "
     "(generate() calls plausible(cond.logits) after guided_logits); diffusion.cfg now checks inputs, this one does not",
     _guide_in_place),
    ("eval.bleu", "closest reference length with ties broken toward the LONGER reference; no test caption is "
     "equidistant from two references", _bleu_ties_to_longer),
    ("eval.bleu", "clipping = max over references of each reference's clipped total (best single reference) instead "
     "of per-n-gram max; in every test one reference's n-grams contain the other's", _bleu_best_single_reference),
    ("eval.bleu", "n-gram counts pooled over the corpus and clipped once (the check's own hint says 'sums the n-gram "
     "counts over all captions first'); no test n-gram has a surplus in one caption and a deficit in another",
     _bleu_corpus_pooled_clipping),
    ("eval.vqa_accuracy", "substring match (prediction in answer) instead of equality; tested answers are only "
     "'yes'/'no'", _vqa_substring),
    ("eval.frechet_distance", "centres features_a/features_b in place (features_a -= mu_a); the check passes clones",
     _frechet_centres_inputs_in_place),
    ("eval.cider_tfidf", "writes the weights into the caller's Counter and returns it (plain() turns the Counter into "
     "a dict; counts is a copy)", _tfidf_in_place),
    ("eval.cider_tfidf", "document_frequency.get(g, 1): right for a missing n-gram, ZeroDivisionError for an explicit "
     "df of 0; the check only has a missing key", _tfidf_default_one),
    ("eval.bootstrap_ci", "ignores seed (global np.random): not reproducible; the check only asks that seeds differ "
     "and that the average interval is near the reference", _boot_global_rng),
    ("eval.bootstrap_ci", "ignores resamples (hard-coded 1000); every width test uses 1000, the constant test any count "
     "gives (1, 1)", _boot_ignores_resamples),
    ("eval.bootstrap_ci", "rng.integers(0, n - 1, n) (thinks the bound is inclusive): the last example is never drawn; "
     "passes unless the dropped skewed value is an outlier", _boot_inclusive_high),
]


# ----------------------------------------------------------------------------- wrong cause named by the hint
def _vq_dot_product(z, codebook):
    B, D, H, W = z.shape
    flat = z.permute(0, 2, 3, 1).reshape(-1, D)  # layout right
    codes = (flat @ codebook.T).argmax(1).view(B, H, W)  # largest dot product, not nearest
    e = codebook[codes].permute(0, 3, 1, 2)
    return z + (e - z).detach(), codes


def _bleu_percent(cands, refs):
    return 100.0 * _bleu_generic(cands, refs)


def _bleu_bp_always(cands, refs):
    c = sum(len(x.split()) for x in cands)
    r = sum(min((abs(len(y.split()) - len(x.split())), len(y.split())) for y in rs)[1] for x, rs in zip(cands, refs))
    bp_fixed = math.exp(1 - r / c) if c < r else 1.0
    return _bleu_generic(cands, refs) / bp_fixed * math.exp(1 - r / c)  # exp(1 - r/c) also when c > r


def _bleu_arithmetic_mean(cands, refs):
    matches, totals = [0] * 4, [0] * 4
    for cand, rs in zip(cands, refs):
        w, rw = cand.split(), [x.split() for x in rs]
        for n in range(1, 5):
            most = Counter()
            for x in rw:
                most |= _ngrams(x, n)
            matches[n - 1] += sum(min(k, most[t]) for t, k in _ngrams(w, n).items())
            totals[n - 1] += max(0, len(w) - n + 1)
    p = sum(m / t for m, t in zip(matches, totals)) / 4
    c = sum(len(x.split()) for x in cands)
    r = sum(min((abs(len(y.split()) - len(x.split())), len(y.split())) for y in rs)[1] for x, rs in zip(cands, refs))
    return p * (math.exp(1 - r / c) if c < r else 1.0)


def _tfidf_length_normalised(counts, document_frequency, num_images):
    total = sum(counts.values())  # Vedantam et al. eq. 2 divides tf by the caption's n-gram count
    return {g: tf / total * (math.log(num_images) - math.log(max(1.0, document_frequency.get(g, 0.0))))
            for g, tf in counts.items()}


MISLEADING = [
    ("vq.quantise", "nearest code by largest dot product (flat @ codebook.T).argmax, layout correct",
     _vq_dot_product, "nearest means smallest Euclidean distance (torch.cdist ... argmin): the codebook rows have "
     "different norms, so the largest dot product is another row -- not 'move D last'"),
    ("eval.bleu", "returns BLEU x 100 (a percentage)", _bleu_percent,
     "that is a percentage: return BLEU in [0, 1] (as metrics.accuracy's check says) -- not 'clip each n-gram...'"),
    ("eval.bleu", "brevity penalty exp(1 - r/c) applied also when c > r", _bleu_bp_always,
     "BP = 1 when the candidates are at least as long as the references (c >= r); exp(1 - r/c) only when c < r"),
    ("eval.bleu", "arithmetic mean of p1..p4 instead of the geometric mean", _bleu_arithmetic_mean,
     "right precisions, wrong mean: BLEU takes the geometric mean (p1 p2 p3 p4)^(1/4)"),
    ("eval.cider_tfidf", "tf divided by the caption's number of n-grams (the paper's eq. 2 normalises)",
     _tfidf_length_normalised, "tf is the raw count counts[g], not divided by the caption's length -- not a "
     "logarithm problem ('natural logarithms')"),
]


# ----------------------------------------------------------------------------- not sure: run them
def _sqrtm_psd(s):
    w, v = np.linalg.eigh(s)
    return (v * np.sqrt(np.clip(w, 0, None))) @ v.T


def _frechet_product_of_roots(features_a, features_b):
    # Tr(S_a^1/2 S_b^1/2) for Tr((S_a S_b)^1/2): equal when S_a and S_b commute; every test's b is isotropic
    # (randn * 1.5), so S_b ~ 2.25 I and the error is second order in S_b's sampling noise.  By a 2nd-order
    # expansion the FD error is ~ 2*1.5*sum_{i!=j} E_ij^2 (sqrt(l_i)-sqrt(l_j))^2 / (16 (sqrt(l_i)+sqrt(l_j))),
    # about 1-3e-2 against tolerances of 0.7-2e-2: probably caught, narrowly.
    a, b = features_a.double().numpy(), features_b.double().numpy()
    sa, sb = np.cov(a, rowvar=False), np.cov(b, rowvar=False)
    cross = np.trace(_sqrtm_psd(sa) @ _sqrtm_psd(sb))
    return float(((a.mean(0) - b.mean(0)) ** 2).sum() + np.trace(sa) + np.trace(sb) - 2 * cross)


def _boot_basic(values, resamples, seed):
    # the "basic" (reverse-percentile) bootstrap (2m - q97.5, 2m - q2.5): same width, leans the wrong way on skewed
    # data; the skewed test allows each end 10 % of the width, the mirror error is ~0.24 * skew(mean) * width
    rng, n = np.random.default_rng(seed), len(values)
    means = [values[rng.integers(0, n, n)].mean() for _ in range(resamples)]
    lo, hi = np.percentile(means, [2.5, 97.5])
    m = values.mean()
    return float(2 * m - hi), float(2 * m - lo)


UNCERTAIN = [
    ("eval.frechet_distance", "Tr(S_a^1/2 S_b^1/2) instead of Tr((S_a S_b)^1/2)", _frechet_product_of_roots),
    ("eval.bootstrap_ci", "basic (reverse) percentile interval", _boot_basic),
]


# ----------------------------------------------------------------------------- values that still lie (plain() holes)
class _AlwaysEqual:
    def __eq__(self, other):
        return True

    def __ne__(self, other):
        return False

    __hash__ = object.__hash__


def _caption_length(vocab, codes, caption):
    return 1 + codes.numel() + 2 + len(vocab.encode_text("describe :")) + len(vocab.encode_text(caption)) + 1


def _caption_object_array_liar(vocab, codes, caption):
    # plain() returns an exact np.ndarray as it is, without looking inside an object-dtype array;
    # the check then does list(x) and compares with == element by element
    n = _caption_length(vocab, codes, caption)
    arr = np.empty(n, dtype=object)
    for i in range(n):
        arr[i] = _AlwaysEqual()
    return arr, arr


def _caption_tolist_liar(vocab, codes, caption):
    # an exact torch.Tensor passes plain() untouched, instance __dict__ included; unified.py:105 calls x.tolist()
    n = _caption_length(vocab, codes, caption)
    t = torch.zeros(n, dtype=torch.long)
    t.tolist = lambda: [_AlwaysEqual() for _ in range(n)]
    return t, t


def _quantise_detach_liar(z, codebook):
    # forward value of z_q is z itself (nothing quantised); unified.py:37 asks z_q.detach(), which the instance answers
    codes = nearest_codes(z.detach(), codebook)
    e = codebook[codes].permute(0, 3, 1, 2)
    z_q = z * 1.0
    z_q.detach = lambda: e
    return z_q, codes


LIARS = [
    ("unified.caption_labels", "object-dtype ndarray of always-equal items", _caption_object_array_liar),
    ("unified.caption_labels", "exact tensor with an instance .tolist override", _caption_tolist_liar),
    ("vq.quantise", "z_q = z (no quantisation) with an instance .detach override", _quantise_detach_liar),
]


# ----------------------------------------------------------------------------- nn.Module pass-through (uncommitted
# _util.py:56-57, 21:52 UTC: "if isinstance(value, torch.nn.Module): return value").  Any class that mixes
# nn.Module into float / tuple / a container skips plain() entirely, elements included.
class _ModuleFloat(float, torch.nn.Module):
    def __new__(cls, value=0.0):
        return float.__new__(cls, value)

    def __init__(self, value=0.0):
        torch.nn.Module.__init__(self)

    def __sub__(self, other):
        return 0.0

    __rsub__ = __sub__

    def __abs__(self):
        return 0.0


class _ModuleTuple(tuple, torch.nn.Module):
    def __new__(cls, items):
        return tuple.__new__(cls, items)

    def __init__(self, items):
        torch.nn.Module.__init__(self)


class _ModuleSequence(torch.nn.Module):
    def __init__(self, n):
        super().__init__()
        self.n = n

    def __iter__(self):
        return iter([_AlwaysEqual() for _ in range(self.n)])


class _LyingTensor(torch.Tensor):
    @classmethod
    def __torch_function__(cls, func, types, args=(), kwargs=None):
        if func in (torch.equal, torch.allclose, torch.Tensor.equal, torch.Tensor.allclose, torch.isclose):
            return True
        return super().__torch_function__(func, types, args, kwargs or {})


def _caption_module_liar(vocab, codes, caption):
    n = _caption_length(vocab, codes, caption)
    return _ModuleSequence(n), _ModuleSequence(n)  # list(x) at unified.py:105 iterates the learner's __iter__


def _quantise_module_tuple_liar(z, codebook):
    B, D, H, W = z.shape
    z_q = (z * 1.0).as_subclass(_LyingTensor)  # nothing quantised; as_subclass stays on the autograd graph
    codes = torch.zeros(B, H, W, dtype=torch.long).as_subclass(_LyingTensor)
    return _ModuleTuple((z_q, codes))  # the tuple is a Module, so its LyingTensor elements are never plain()ed


LIARS += [
    ("eval.bleu", "float + nn.Module mix-in whose __sub__ says 0", lambda c, r: _ModuleFloat(0.5)),
    ("eval.vqa_accuracy", "float + nn.Module mix-in whose __sub__ says 0", lambda p, h: _ModuleFloat(0.5)),
    ("eval.frechet_distance", "float + nn.Module mix-in (__sub__ and __abs__ say 0)", lambda a, b: _ModuleFloat(0.5)),
    ("unified.caption_labels", "nn.Module whose __iter__ yields always-equal items", _caption_module_liar),
    ("vq.quantise", "tuple + nn.Module mix-in holding __torch_function__ liars", _quantise_module_tuple_liar),
]


#: Right for the exercise as posed: with exactly ten answers min(1, 0.3 k) equals the mean over the ten
#: leave-one-out subsets (k = 1, 2, 3 give 0.3, 0.6, 0.9; k >= 4 gives 1), so it passes, rightly.
RIGHT_ANSWERS = [("eval.vqa_accuracy", "min(1, 0.3 * matches), the closed form for ten answers", _vqa_point_three)]
