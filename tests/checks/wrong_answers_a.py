"""Wrong answers that (by reading the checks) should PASS today.

Checks covered: mmcourse/checks/metrics.py, train.py, modalities.py, contrastive.py.
CANDIDATES: plausible beginner mistakes. LIARS: objects whose own operators lie
(float / Tensor subclasses); they show where a check trusts the returned object.
Collected in a review of the checks (issue 31): each passed the checks of the time;
tests/checks/test_wrong_answers.py keeps every one failing.
"""

import math

import numpy as np  # noqa: F401
import torch
import torch.nn.functional as F


# ----------------------------------------------------------------------------- metrics.confusion_matrix
def cm_float_counts(preds, labels, num_classes):
    # torch.zeros defaults to float32: counts come back as 3.0, 1.0, ... (check does got.long())
    M = torch.zeros(num_classes, num_classes)
    for t, p in zip(labels.tolist(), preds.tolist()):
        M[t, p] += 1
    return M


def cm_infer_num_classes(preds, labels, num_classes):
    # ignores num_classes: size taken from the data (wrong shape whenever a class is absent)
    n = int(max(preds.max(), labels.max())) + 1
    M = torch.zeros(n, n, dtype=torch.long)
    for t, p in zip(labels.tolist(), preds.tolist()):
        M[t, p] += 1
    return M


def cm_bincount_no_minlength(preds, labels, num_classes):
    # bincount without minlength: reshape crashes unless the pair (C-1, C-1) occurs
    return torch.bincount(labels * num_classes + preds).reshape(num_classes, num_classes)


# ----------------------------------------------------------------------------- train.count_parameters
def cp_default_true(model, trainable_only=True):
    # wrong default: count_parameters(model) silently skips frozen layers
    return sum(p.numel() for p in model.parameters() if p.requires_grad or not trainable_only)


def cp_leaf_modules_only(model, trainable_only=False):
    # "sum over the layers": only leaf modules, so parameters owned directly by a container
    # (ViT cls_token / pos_embed, CLIP logit_scale) are missed
    total = 0
    for m in model.modules():
        if any(True for _ in m.children()):
            continue
        for p in m.parameters():
            if p.requires_grad or not trainable_only:
                total += p.numel()
    return total


def cp_frozen_judged_by_first_param(model, trainable_only=False):
    # decides per layer from its first parameter (the weight): a layer with only its bias
    # (or only its weight) frozen is counted wrongly; also double-counts tied parameters
    total = 0
    for m in model.modules():
        params = list(m.parameters(recurse=False))
        if not params:
            continue
        if trainable_only and not params[0].requires_grad:
            continue
        total += sum(p.numel() for p in params)
    return total


def cp_tied_counted_twice(model, trainable_only=False):
    # per-module loop: a parameter shared by two modules (tied embeddings) is counted twice
    return sum(p.numel() for m in model.modules() for p in m.parameters(recurse=False)
               if p.requires_grad or not trainable_only)


# ----------------------------------------------------------------------------- train.train_step
def ts_eval_mode(model, batch, optimizer):
    model.eval()  # copied from predict(): dropout / batch-norm statistics are off while training
    x, y = batch
    loss = F.cross_entropy(model(x), y)
    optimizer.zero_grad()
    loss.backward()
    optimizer.step()
    return loss.item()


def ts_grad_clipping(model, batch, optimizer):
    x, y = batch
    loss = F.cross_entropy(model(x), y)
    optimizer.zero_grad()
    loss.backward()
    torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)  # not asked; grad norm here is ~0.37
    optimizer.step()
    return loss.item()


def ts_manual_sgd(model, batch, optimizer):
    # ignores the optimizer's algorithm (momentum, Adam, weight decay): plain p -= lr * grad
    x, y = batch
    loss = F.cross_entropy(model(x), y)
    optimizer.zero_grad()
    loss.backward()
    lr = optimizer.param_groups[0]["lr"]
    with torch.no_grad():
        for p in model.parameters():
            p -= lr * p.grad
    return loss.item()


# ----------------------------------------------------------------------------- video.sample_segments
def ss_float_middles(num_frames, k):
    # true division: returns 0.5, 3.5, ... (not frame indices); the check applies int(), which floors
    if k > num_frames:
        raise ValueError("k > num_frames")
    edges = [math.floor(i * num_frames / k) for i in range(k + 1)]
    return [(s + e - 1) / 2 for s, e in zip(edges[:-1], edges[1:])]


def ss_list_of_tensors(num_frames, k):
    # list(tensor) gives 0-d tensors, not Python ints
    if k > num_frames:
        raise ValueError("k > num_frames")
    edges = torch.div(torch.arange(k + 1) * num_frames, k, rounding_mode="floor")
    return list((edges[:-1] + edges[1:] - 1) // 2)


# ----------------------------------------------------------------------------- fusion.similarity_matrix
def sm_normalise_in_place(image_emb, text_emb):
    # /= normalises the caller's embeddings in place
    image_emb /= image_emb.norm(dim=-1, keepdim=True)
    text_emb /= text_emb.norm(dim=-1, keepdim=True)
    return image_emb @ text_emb.T


# ----------------------------------------------------------------------------- clip.info_nce
def nce_rewrapped_item(logits_per_image):
    # .item() then torch.tensor(...): a scalar tensor with no graph, loss.backward() fails
    t = torch.arange(logits_per_image.shape[0])
    a = F.cross_entropy(logits_per_image, t).item()
    b = F.cross_entropy(logits_per_image.T, t).item()
    return torch.tensor((a + b) / 2)


def nce_no_grad(logits_per_image):
    with torch.no_grad():  # "it is just a metric": no gradient reaches the encoders
        t = torch.arange(logits_per_image.shape[0])
        return (F.cross_entropy(logits_per_image, t) + F.cross_entropy(logits_per_image.T, t)) / 2


# ----------------------------------------------------------------------------- clip.hardest_negatives
def hn_fill_diagonal_in_place(similarity):
    similarity.fill_diagonal_(float("-inf"))  # overwrites the caller's similarity matrix
    return similarity.argmax(dim=1)


def hn_fill_minus_one(similarity):
    # "cosine is >= -1": wrong for logits / unnormalised scores where every negative is < -1
    s = similarity.clone()
    s.fill_diagonal_(-1.0)
    return s.argmax(dim=1)


def hn_float_indices(similarity):
    B = similarity.shape[0]
    out = torch.zeros(B)  # float32 indices: cannot index a tensor with them
    for i in range(B):
        row = similarity[i].clone()
        row[i] = float("-inf")
        out[i] = row.argmax()
    return out


CANDIDATES = [
    ("metrics.confusion_matrix", "float32 counts from torch.zeros(C, C) without dtype=torch.long; check casts "
     "with got.long() (metrics.py:59) so the dtype is never checked", cm_float_counts),
    ("metrics.confusion_matrix", "ignores num_classes and sizes the matrix from max(preds, labels)+1; every "
     "class occurs in all three fixed inputs (verified by emulating randint, seed 2)", cm_infer_num_classes),
    ("metrics.confusion_matrix", "torch.bincount without minlength=C*C; works only because cell (C-1, C-1) is "
     "non-zero in every tested input (4, 3, 3)", cm_bincount_no_minlength),
    ("train.count_parameters", "default trainable_only=True: the default call is only tested on fully "
     "trainable models", cp_default_true),
    ("train.count_parameters", "sums over leaf modules only: misses parameters owned by a container "
     "(cls_token, pos_embed, logit_scale); no tested model has any", cp_leaf_modules_only),
    ("train.count_parameters", "judges a layer frozen by its first parameter only; the test freezes whole "
     "layers (frozen[0].requires_grad_(False))", cp_frozen_judged_by_first_param),
    ("train.count_parameters", "per-module loop counts tied/shared parameters twice; no tested model shares "
     "a parameter", cp_tied_counted_twice),
    ("train.train_step", "calls model.eval() in the training step; nn.Linear has no dropout/BN so the check "
     "cannot see the mode", ts_eval_mode),
    ("train.train_step", "adds clip_grad_norm_(1.0): a different update whenever the gradient norm > 1; "
     "here it is ~0.37", ts_grad_clipping),
    ("train.train_step", "manual p -= lr * p.grad instead of optimizer.step(): right only for plain SGD, the "
     "only optimizer tested", ts_manual_sgd),
    ("video.sample_segments", "true division (s + e - 1) / 2 returns floats such as 0.5; the check's "
     "int(i) (modalities.py:59) floors them", ss_float_middles),
    ("video.sample_segments", "returns a list of 0-d tensors (list(tensor)) rather than Python ints",
     ss_list_of_tensors),
    ("fusion.similarity_matrix", "normalises the inputs in place with /=; the check passes clones "
     "(modalities.py:78)", sm_normalise_in_place),
    ("clip.info_nce", "averages .item() values and wraps them in torch.tensor: no graph, no training "
     "signal; expect_loss never checks requires_grad", nce_rewrapped_item),
    ("clip.info_nce", "computes the loss under torch.no_grad()", nce_no_grad),
    ("clip.hardest_negatives", "similarity.fill_diagonal_(-inf) on the input: mutates the caller's matrix; "
     "the check passes a clone (contrastive.py:72)", hn_fill_diagonal_in_place),
    ("clip.hardest_negatives", "masks the diagonal with -1 ('the minimum cosine') instead of -inf; no tested "
     "row has all negatives below -1 (worst row max -0.49, verified by emulation)", hn_fill_minus_one),
    ("clip.hardest_negatives", "float32 index tensor built in a loop in torch.zeros(B); the check casts "
     "with .long() (contrastive.py:73)", hn_float_indices),
]


# ----------------------------------------------------------------------------- liars (not beginner mistakes)
class _LyingFloat(float):
    """A float whose arithmetic and comparisons always say 'close enough'."""

    def __sub__(self, other):
        return _LyingFloat(0.0)

    __rsub__ = __sub__

    def __eq__(self, other):
        return True

    def __ne__(self, other):
        return False

    def __lt__(self, other):
        return True

    __le__ = __gt__ = __ge__ = __lt__
    __hash__ = float.__hash__


class _LyingTensor(torch.Tensor):
    """A tensor for which torch.equal and torch.allclose are always True."""

    @classmethod
    def __torch_function__(cls, func, types, args=(), kwargs=None):
        if func in (torch.equal, torch.allclose):
            return True
        return super().__torch_function__(func, types, args, kwargs or {})


def _liar_accuracy(logits, labels):
    return _LyingFloat(0.5)


def _liar_recall(similarity, relevant, k):
    return _LyingFloat(0.5)


def _liar_confusion(preds, labels, num_classes):
    return torch.zeros(num_classes, num_classes).as_subclass(_LyingTensor)


def _liar_patchify(images, patch_size):
    B, C, H, W = images.shape
    P = patch_size
    return torch.zeros(B, (H // P) * (W // P), C * P * P).as_subclass(_LyingTensor)


def _liar_mel(n_freqs, n_mels, sample_rate):
    return torch.zeros(n_freqs, n_mels).as_subclass(_LyingTensor)


def _liar_similarity(image_emb, text_emb):
    return torch.ones(image_emb.shape[0], text_emb.shape[0]).as_subclass(_LyingTensor)


def _liar_zero_shot(model, classnames, templates):
    with torch.no_grad():
        D = model.encode_text(list(classnames)).shape[-1]
    return torch.zeros(len(classnames), D).as_subclass(_LyingTensor)


def _liar_hardest(similarity):
    B = similarity.shape[0]
    return ((torch.arange(B) + 1) % B).as_subclass(_LyingTensor)


LIARS = [
    ("metrics.accuracy", "float subclass: abs(got - want), 0.0 <= got <= 1e-6 all lie", _liar_accuracy),
    ("metrics.recall_at_k", "float subclass: abs(got - want) and got == 0.0 lie", _liar_recall),
    ("metrics.confusion_matrix", "Tensor subclass: torch.equal(got.long(), want) is True", _liar_confusion),
    ("patches.patchify", "Tensor subclass: torch.allclose is True", _liar_patchify),
    ("audio.mel_filterbank", "Tensor subclass survives .float(); allclose True", _liar_mel),
    ("fusion.similarity_matrix", "Tensor subclass of ones: allclose True, diagonal is 1", _liar_similarity),
    ("clip.zero_shot_classifier", "Tensor subclass: allclose (norm and values) True", _liar_zero_shot),
    ("clip.hardest_negatives", "Tensor subclass: torch.equal True after .long()", _liar_hardest),
]
