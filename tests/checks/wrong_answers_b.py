"""Wrong answers to the checks of chapters 03-05 (vlm, video_audio, diffusion), collected in a review
of the checks (issue 31); each passed the checks of the time. tests/checks/test_wrong_answers.py keeps
every one failing, and RIGHT_ANSWERS passing."""

import re
import string
from collections import OrderedDict

import numpy as np
import torch
import torch.nn.functional as F  # noqa: F401
from torch import nn

from mmcourse.metrics.speech import edit_distance
from mmcourse.models.vlm import splice_image_features  # noqa: F401

IGNORE_INDEX = -100
NUMBERS = {w: str(i) for i, w in enumerate(
    ["zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten"])}  # given in the notebook
ARTICLES = {"a", "an", "the"}


# ---------------------------------------------------------------- vlm.projector (class-valued)
class ProjectorNoGrad(nn.Module):
    """forward under torch.no_grad(): right values, but no gradient ever reaches the projector
    (LLaVA stage 1 trains only the projector). The check never looks at out.requires_grad."""

    def __init__(self, vision_dim, hidden_size):
        super().__init__()
        self.linear_1 = nn.Linear(vision_dim, hidden_size)
        self.act = nn.GELU()
        self.linear_2 = nn.Linear(hidden_size, hidden_size)

    @torch.no_grad()
    def forward(self, x):
        return self.linear_2(self.act(self.linear_1(x)))


class ProjectorFrozen(nn.Module):
    """Freezes its own parameters ("freeze everything pretrained" copied one line too far):
    count, names and outputs are right; the optimiser gets nothing to train."""

    def __init__(self, vision_dim, hidden_size):
        super().__init__()
        self.linear_1 = nn.Linear(vision_dim, hidden_size)
        self.act = nn.GELU()
        self.linear_2 = nn.Linear(hidden_size, hidden_size)
        for p in self.parameters():
            p.requires_grad_(False)

    def forward(self, x):
        return self.linear_2(self.act(self.linear_1(x)))


# ---------------------------------------------------------------- vlm.splice
def _splice_rows(embeds, input_ids, image_features, image_token_id, labels, fill):
    rows_e, rows_l = [], []
    for b in range(input_ids.shape[0]):
        p = int((input_ids[b] == image_token_id).nonzero()[0])
        rows_e.append(torch.cat([embeds[b, :p], image_features[b], embeds[b, p + 1:]]))
        rows_l.append(torch.cat([labels[b, :p], fill(image_features.shape[1], labels), labels[b, p + 1:]]))
    return torch.stack(rows_e), torch.stack(rows_l)


def splice_float_labels(embeds, input_ids, image_features, image_token_id, labels):
    # torch.ones(n) * -100 is float32; torch.cat promotes the whole label row to float32.
    # cross_entropy then refuses (or misreads) the targets; the check compares gl.long().
    return _splice_rows(embeds, input_ids, image_features, image_token_id, labels,
                        lambda n, lab: torch.ones(n) * IGNORE_INDEX)


def splice_hardcoded_image_id(embeds, input_ids, image_features, image_token_id, labels):
    # ignores image_token_id and looks for the course tokenizer's id 4 (the only id the check uses)
    return _splice_rows(embeds, input_ids, image_features, 4, labels,
                        lambda n, lab: lab.new_full((n,), IGNORE_INDEX))


def splice_mutates_labels(embeds, input_ids, image_features, image_token_id, labels):
    labels[input_ids == image_token_id] = IGNORE_INDEX  # writes into the caller's labels (the check passes clones)
    return _splice_rows(embeds, input_ids, image_features, image_token_id, labels,
                        lambda n, lab: lab.new_full((n,), IGNORE_INDEX))


def splice_via_numpy(embeds, input_ids, image_features, image_token_id, labels):
    # numpy concatenation: fine on the check's plain tensors, but embeds.numpy() raises as soon as
    # embeds/image_features require grad (training), and the projector would get no gradient anyway
    e, ids, f, lab = embeds.numpy(), input_ids.numpy(), image_features.numpy(), labels.numpy()
    rows_e, rows_l = [], []
    for b in range(ids.shape[0]):
        p = int(np.nonzero(ids[b] == image_token_id)[0][0])
        rows_e.append(np.concatenate([e[b, :p], f[b], e[b, p + 1:]]))
        rows_l.append(np.concatenate([lab[b, :p], np.full(f.shape[1], IGNORE_INDEX, dtype=lab.dtype), lab[b, p + 1:]]))
    return torch.from_numpy(np.stack(rows_e)), torch.from_numpy(np.stack(rows_l))


# ---------------------------------------------------------------- vlm.chat_prompt
def _body(items):
    return " ".join("<image>" if it["type"] == "image" else it["text"] for it in items)


def prompt_ignores_flag(messages, add_generation_prompt=False):
    turns = [f"USER: {_body(m['content'])}" if m["role"] == "user" else f"ASSISTANT: {_body(m['content'])}</s>"
             for m in messages]
    prompt = " ".join(turns)
    # add_generation_prompt ignored: "the model answers after a user turn"
    return prompt + " ASSISTANT:" if messages[-1]["role"] == "user" else prompt


def prompt_roles_by_position(messages, add_generation_prompt=False):
    turns = [f"USER: {_body(m['content'])}" if i % 2 == 0 else f"ASSISTANT: {_body(m['content'])}</s>"
             for i, m in enumerate(messages)]  # role read from the position, not from m["role"]
    prompt = " ".join(turns)
    return prompt + " ASSISTANT:" if add_generation_prompt else prompt


def prompt_image_always_first(messages, add_generation_prompt=False):
    turns = []
    for m in messages:
        text = " ".join(it["text"] for it in m["content"] if it["type"] == "text")
        body = "<image> " + text if any(it["type"] == "image" for it in m["content"]) else text
        turns.append(f"USER: {body}" if m["role"] == "user" else f"ASSISTANT: {body}</s>")
    prompt = " ".join(turns)
    return prompt + " ASSISTANT:" if add_generation_prompt else prompt


def prompt_pops_image_item(messages, add_generation_prompt=False):
    turns = []
    for m in messages:
        items, prefix = m["content"], ""
        if items and items[0]["type"] == "image":
            items.pop(0)  # consumes the caller's image item: re-rendering the history loses <image>
            prefix = "<image> "
        body = prefix + " ".join(it["text"] for it in items)
        turns.append(f"USER: {body}" if m["role"] == "user" else f"ASSISTANT: {body}</s>")
    prompt = " ".join(turns)
    return prompt + " ASSISTANT:" if add_generation_prompt else prompt


# ---------------------------------------------------------------- vlm.vqa_exact_match
def _norm_ok(text, articles=ARTICLES):
    text = re.sub(r"[^\w\s.]", " ", text.lower())
    text = re.sub(r"(?<!\d)\.|\.(?!\d)", " ", text)
    return " ".join(NUMBERS.get(w, w) for w in text.split() if w not in articles)


def _score(norm, predictions, answers):
    return sum(norm(p) == norm(a) for p, a in zip(predictions, answers)) / len(answers)


def vqa_deletes_punctuation(predictions, answers):
    # "top-left" -> "topleft" (not "top left"); "2.5" -> "25"
    def norm(t):
        t = t.lower().translate(str.maketrans("", "", string.punctuation))
        return " ".join(NUMBERS.get(w, w) for w in t.split() if w not in ARTICLES)
    return _score(norm, predictions, answers)


def vqa_strips_punctuation_at_ends(predictions, answers):
    def norm(t):  # "red, blue" keeps its comma
        t = t.lower().strip(string.punctuation)
        return " ".join(NUMBERS.get(w, w) for w in t.split() if w not in ARTICLES)
    return _score(norm, predictions, answers)


def vqa_leading_article_only(predictions, answers):
    def norm(t):  # "on the left" keeps "the"
        words = _norm_ok(t, articles=set()).split()
        if words and words[0] in ARTICLES:
            words = words[1:]
        return " ".join(words)
    return _score(norm, predictions, answers)


def vqa_forgets_article_a(predictions, answers):
    return _score(lambda t: _norm_ok(t, articles={"an", "the"}), predictions, answers)  # "a circle" != "circle"


def vqa_containment(predictions, answers):
    # lenient "answer appears in the prediction": ("red square", "red") scores 1
    return sum(_norm_ok(a) in _norm_ok(p) for p, a in zip(predictions, answers)) / len(answers)


def vqa_steps_in_wrong_order(predictions, answers):
    def norm(t):  # numbers/articles looked up before lower-casing and punctuation: "Two." and "The cat" slip through
        words = [NUMBERS.get(w, w) for w in t.split() if w not in ARTICLES]
        t = re.sub(r"[^\w\s.]", " ", " ".join(words).lower())
        t = re.sub(r"(?<!\d)\.|\.(?!\d)", " ", t)
        return " ".join(t.split())
    return _score(norm, predictions, answers)


# ---------------------------------------------------------------- video.count_tokens
def count_tokens_width_only(frames, height, width, patch_size, tubelet):
    if frames % tubelet or width % patch_size:  # height never checked (the check only tests a bad width)
        raise ValueError("does not divide")
    return (frames // tubelet) * (height // patch_size) * (width // patch_size)


# ---------------------------------------------------------------- speech.wer
def wer_split_on_single_space(references, hypotheses):
    errors = words = 0
    for ref, hyp in zip(references, hypotheses):
        r, h = ref.split(" "), hyp.split(" ")  # " three four" (Whisper's leading space) gains an empty word
        errors += edit_distance(r, h)
        words += len(r)
    return errors / words


# ---------------------------------------------------------------- audio.spec_mask
def mask_returns_input_when_nothing_masked(features, f0, f, t0, t):
    if f == 0 and t == 0:
        return features  # "nothing to do": the caller gets its own tensor, not the promised copy
    out, fill = features.clone(), features.mean()
    out[f0:f0 + f, :] = fill
    out[:, t0:t0 + t] = fill
    return out


# ---------------------------------------------------------------- diffusion.add_noise
def add_noise_float64(x0, noise, t, betas):
    abar = torch.cumprod(1 - betas.double(), dim=0)[t].reshape(-1, 1, 1, 1)  # "double for precision"
    return abar.sqrt() * x0 + (1 - abar).sqrt() * noise  # float64 x_t: a float32 UNet then raises


# ---------------------------------------------------------------- diffusion.ddpm_step
def reverse_step_hardcoded_linear(x_t, eps, t, betas, z):
    betas = torch.linspace(1e-4, 0.02, 1000)  # DDPM's schedule rebuilt; the betas argument is ignored
    abar = torch.cumprod(1 - betas, dim=0)
    beta, alpha = betas[t], 1 - betas[t]
    mean = (x_t - beta / (1 - abar[t]).sqrt() * eps) / alpha.sqrt()
    if t == 0:
        return mean
    sigma = ((1 - abar[t - 1]) / (1 - abar[t]) * beta).sqrt()
    return mean + sigma * z


# ---------------------------------------------------------------- diffusion.cfg  [HEAD only]
def guide_in_place_cond(eps_uncond, eps_cond, w):
    eps_cond *= 1 + w
    eps_cond -= w * eps_uncond
    return eps_cond


def guide_in_place_uncond(eps_uncond, eps_cond, w):
    return eps_uncond.mul_(-w).add_((1 + w) * eps_cond)


# ---------------------------------------------------------------- vae.sample_kl
def sample_and_kl_kl_without_graph(mean, logvar, noise):
    z = mean + torch.exp(0.5 * logvar) * noise
    # per-image loop collected with torch.tensor([...floats...]): right values, the KL term has no gradient
    kl = torch.tensor([float(-0.5 * (1 + lv - m ** 2 - lv.exp()).sum()) for m, lv in zip(mean, logvar)])
    return z, kl


CANDIDATES = [
    ("vlm.projector", "forward under @torch.no_grad(): right numbers, no gradient to the projector (never tested)",
     ProjectorNoGrad),
    ("vlm.projector", "freezes its own parameters in __init__: count/names/values right, nothing trainable",
     ProjectorFrozen),
    ("vlm.splice", "image labels made with torch.ones(n) * -100: labels come back float32; check compares gl.long()",
     splice_float_labels),
    ("vlm.splice", "ignores image_token_id and searches for 4 (the course tokenizer's id, the only one tested)",
     splice_hardcoded_image_id),
    ("vlm.splice", "writes IGNORE_INDEX into the caller's labels in place (check passes clones)",
     splice_mutates_labels),
    ("vlm.splice", "splices with numpy: passes on grad-free inputs, crashes/loses gradient in training",
     splice_via_numpy),
    ("vlm.chat_prompt", "ignores add_generation_prompt; appends ' ASSISTANT:' whenever the last turn is the user's "
     "(every tested gen=True case ends on a user turn)", prompt_ignores_flag),
    ("vlm.chat_prompt", "role taken from the position (even=USER, odd=ASSISTANT), not m['role']",
     prompt_roles_by_position),
    ("vlm.chat_prompt", "assumes [image, text] order: '<image> ' prepended, only text items joined",
     prompt_image_always_first),
    ("vlm.chat_prompt", "pops the image item out of the caller's messages (history loses <image> on re-render)",
     prompt_pops_image_item),
    ("vlm.vqa_exact_match", "deletes punctuation instead of replacing it by a space ('top-left' -> 'topleft')",
     vqa_deletes_punctuation),
    ("vlm.vqa_exact_match", "strips punctuation only at the ends of the answer ('red, blue' keeps its comma)",
     vqa_strips_punctuation_at_ends),
    ("vlm.vqa_exact_match", "drops an article only at the start ('on the left' != 'on left')",
     vqa_leading_article_only),
    ("vlm.vqa_exact_match", "drops an/the but not 'a' (no 'a ...' answer is tested)", vqa_forgets_article_a),
    ("vlm.vqa_exact_match", "substring match: answer contained in prediction counts ('red square' vs 'red')",
     vqa_containment),
    ("vlm.vqa_exact_match", "maps numbers/articles before lower-casing and punctuation ('Two.' != '2')",
     vqa_steps_in_wrong_order),
    ("video.count_tokens", "checks only width % patch_size, never height (only a bad width is tested)",
     count_tokens_width_only),
    ("speech.wer", "split(' ') instead of split(): a leading/double space becomes an empty word (tests have none)",
     wer_split_on_single_space),
    ("audio.spec_mask", "returns its input itself (no copy) when f == t == 0", mask_returns_input_when_nothing_masked),
    ("diffusion.add_noise", "computes abar in float64 and returns float64 x_t (_close casts both to double)",
     add_noise_float64),
    ("diffusion.ddpm_step", "ignores betas and rebuilds DDPM's linear 1e-4..0.02 x 1000 schedule (the only one tested)",
     reverse_step_hardcoded_linear),
    ("diffusion.cfg", "[HEAD only; rejected by the uncommitted in-place assert] mutates eps_cond in place",
     guide_in_place_cond),
    ("diffusion.cfg", "[HEAD only; rejected by the uncommitted in-place assert] mutates eps_uncond in place",
     guide_in_place_uncond),
    ("vae.sample_kl", "KL per image gathered with torch.tensor([float(...) ...]): values right, no gradient",
     sample_and_kl_kl_without_graph),
]


# Right answers that the *working tree* rejects (false failures), for whoever runs this file.
def projector(vision_dim, hidden_size):  # exactly the notebook's solution (solutions/03_llava.py)
    return nn.Sequential(OrderedDict(linear_1=nn.Linear(vision_dim, hidden_size), act=nn.GELU(),
                                     linear_2=nn.Linear(hidden_size, hidden_size)))


RIGHT_ANSWERS = [
    ("vlm.projector", "the notebook's own function returning nn.Sequential: plain_returns wraps functions and "
     "plain() refuses an nn.Module ('expected a number, a string, ...')", projector),
]
