"""Sampling from a unified decoder: modality-constrained decoding with a KV cache,
temperature, top-k and classifier-free guidance on logits.

At each step the model scores every id of the shared vocabulary; a *modality mask* keeps
only the ids that make sense here: inside ``<boi> ... <eoi>`` the image codes until the
image is full, then only ``<eoi>``; outside an image, text ids, ``<boi>`` and ``</s>``.
Guidance for an autoregressive model (Parti, Yu et al. 2022, §3; Janus-Pro uses the same)
runs each sequence twice, with and without its caption, and extrapolates the logits,
ℓ = ℓ_c + w (ℓ_c − ℓ_u), the same rule as chapter 05's ε (Ho & Salimans 2022, eq. 6).
Extrapolation also lifts ids that *both* models find implausible whenever their logits differ
by chance; ``plausibility`` = α keeps only the ids whose conditional probability is at least
α times the most likely one's (the adaptive plausibility constraint of contrastive decoding,
Li et al. 2023), then guides among those.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch

from .compat import cache_kwarg
from .contracts import Bool, Float, Instance, Int, Maybe, Tensor, contract
from .tokens import MultimodalVocabulary


@contract(vocab=Instance(MultimodalVocabulary, "a tokens.MultimodalVocabulary"),
          codes_so_far=Tensor(rank=1, kind="int", what="(batch,) codes written since <boi>, -1 outside an image"))
def modality_mask(vocab: MultimodalVocabulary, codes_so_far: torch.Tensor) -> torch.Tensor:
    """Which next ids are allowed, (B, V) bool, for each sequence's state.

    Used in: chapter 06
    """
    B, V = codes_so_far.shape[0], len(vocab)
    ids = torch.arange(V)
    is_code = ids >= vocab.image_offset
    text_ok = (ids < vocab.text_size) & (ids != vocab.pad) & (ids != vocab.bos) | (ids == vocab.boi)
    n = codes_so_far[:, None]  # (B, 1)
    inside, full = n >= 0, n >= vocab.tokens_per_image
    allowed = torch.where(inside & ~full, is_code, text_ok)  # 1. codes inside an unfinished image
    return torch.where(inside & full, ids == vocab.eoi, allowed).expand(B, V)  # 2. only <eoi> once full


@contract(cond=Tensor(kind="float", what="conditional logits"), uncond=Tensor(kind="float", what="unconditional logits"),
          guidance=Float(min=0))
def guided_logits(cond: torch.Tensor, uncond: torch.Tensor, guidance: float) -> torch.Tensor:
    """Classifier-free guidance on logits: ℓ_c + w (ℓ_c − ℓ_u).

    Used in: chapter 06
    """
    if cond.shape != uncond.shape:
        raise ValueError(f"cond and uncond logits must share a shape; got {tuple(cond.shape)} and {tuple(uncond.shape)}")
    return cond + guidance * (cond - uncond)


@contract(cond=Tensor(kind="float", what="conditional logits", finite=False), alpha=Float(min=0, max=1, open_min=True))
def plausible(cond: torch.Tensor, alpha: float) -> torch.Tensor:
    """Ids whose conditional probability is at least ``alpha`` times the row's largest. (B, V) bool

    Used in: chapter 06
    """
    log_p = cond.float().log_softmax(-1)
    return log_p >= log_p.max(-1, keepdim=True).values + torch.log(torch.tensor(alpha))


@contract(logits=Tensor(rank=2, kind="float", what="(batch, vocab) logits", finite=False),
          temperature=Maybe(Float(min=0, open_min=True)), top_k=Maybe(Int(min=1)))
def next_token(logits: torch.Tensor, temperature: float | None = None, top_k: int | None = None,
               generator: torch.Generator | None = None) -> torch.Tensor:
    """One id per row of (B, V) logits: greedy when ``temperature`` is None, otherwise a sample
    from softmax(logits / temperature) restricted to the ``top_k`` largest (all if None).
    """
    if temperature is None:
        return logits.argmax(-1)
    logits = logits.float() / temperature
    if top_k is not None and top_k < logits.shape[-1]:
        kth = logits.topk(top_k, dim=-1).values[:, -1:]  # (B, 1) the k-th largest
        logits = logits.masked_fill(logits < kth, float("-inf"))
    probs = logits.softmax(-1)
    return torch.multinomial(probs.cpu(), 1, generator=generator).flatten().to(logits.device)


def _left_pad(prompts: Sequence[Sequence[int]], pad: int, device: torch.device) -> tuple[torch.Tensor, torch.Tensor]:
    L = max(len(p) for p in prompts)
    ids = torch.full((len(prompts), L), pad, device=device)
    mask = torch.zeros((len(prompts), L), dtype=torch.long, device=device)
    for b, p in enumerate(prompts):
        ids[b, L - len(p):], mask[b, L - len(p):] = torch.tensor(p, device=device), 1
    return ids, mask


class _Stream:
    """One batch of left-padded prompts decoded step by step with a KV cache."""

    def __init__(self, model: torch.nn.Module, prompts: Sequence[Sequence[int]], pad: int) -> None:
        from transformers import DynamicCache

        device = next(model.parameters()).device
        self.model, self.cache = model, DynamicCache()
        ids, self.mask = _left_pad(prompts, pad, device)
        self.logits = self._forward(ids)  # the whole prompt once; later steps one token each

    def _forward(self, ids: torch.Tensor) -> torch.Tensor:
        positions = (self.mask.cumsum(1) - 1).clamp(min=0)[:, -ids.shape[1]:]
        out = self.model(input_ids=ids, attention_mask=self.mask, position_ids=positions,
                         **{cache_kwarg(): self.cache}, use_cache=True)
        return out.logits[:, -1].float()

    def step(self, token: torch.Tensor) -> None:
        self.mask = torch.cat([self.mask, torch.ones_like(self.mask[:, :1])], 1)
        self.logits = self._forward(token[:, None])


def _codes_state(vocab: MultimodalVocabulary, prompts: Sequence[Sequence[int]]) -> torch.Tensor:
    state = []
    for p in prompts:
        opened = max((i for i, t in enumerate(p) if t == vocab.boi), default=-1)
        closed = max((i for i, t in enumerate(p) if t == vocab.eoi), default=-1)
        state.append(len(p) - opened - 1 if opened > closed else -1)
    return torch.tensor(state)


@contract(vocab=Instance(MultimodalVocabulary, "a tokens.MultimodalVocabulary"), max_new_tokens=Int(min=1),
          temperature=Maybe(Float(min=0, open_min=True)), top_k=Maybe(Int(min=1)), guidance=Float(min=0),
          plausibility=Maybe(Float(min=0, max=1, open_min=True)), seed=Int(min=0),
          constrained=Bool())
def generate(model: torch.nn.Module, vocab: MultimodalVocabulary, prompts: Sequence[Sequence[int]], *,
             max_new_tokens: int, temperature: float | None = None, top_k: int | None = None,
             guidance: float = 0.0, uncond_prompts: Sequence[Sequence[int]] | None = None,
             plausibility: float | None = None, seed: int = 0, constrained: bool = True) -> list[list[int]]:
    """Continue each prompt until ``</s>`` (or ``max_new_tokens``); returns the new ids.

    With ``guidance`` > 0, ``uncond_prompts`` (one per prompt, e.g. the caption dropped) run
    beside the prompts and the logits are combined by :func:`guided_logits` (among the ids
    :func:`plausible` keeps, when ``plausibility`` is given).

    Used in: chapter 06
    """
    _check_prompts(vocab, model, prompts, max_new_tokens, "prompts")
    if guidance > 0:
        if uncond_prompts is None or len(uncond_prompts) != len(prompts):
            raise ValueError("guidance > 0 needs uncond_prompts, one per prompt")
        _check_prompts(vocab, model, uncond_prompts, max_new_tokens, "uncond_prompts")
    generator = torch.Generator().manual_seed(seed)
    was_training = model.training
    model.eval()
    with torch.no_grad():
        cond = _Stream(model, prompts, vocab.pad)
        uncond = _Stream(model, uncond_prompts, vocab.pad) if guidance > 0 else None
        state, done = _codes_state(vocab, prompts), torch.zeros(len(prompts), dtype=torch.bool)
        out: list[list[int]] = [[] for _ in prompts]
        for _ in range(max_new_tokens):
            # 1. guide, 2. constrain to the modality, 3. pick, 4. feed the token back (KV cache)
            logits = guided_logits(cond.logits, uncond.logits, guidance) if uncond is not None else cond.logits
            allowed = modality_mask(vocab, state).to(logits.device) if constrained else torch.ones_like(logits, dtype=torch.bool)
            if plausibility is not None:  # judged among the ids the modality allows
                allowed &= plausible(cond.logits.masked_fill(~allowed, float("-inf")), plausibility)
            logits = logits.masked_fill(~allowed, float("-inf"))
            token = next_token(logits, temperature, top_k, generator).cpu()
            token = torch.where(done, vocab.pad, token)
            for b in (~done).nonzero().flatten().tolist():
                out[b].append(int(token[b]))
            state = _advance(vocab, state, token)
            done |= token == vocab.eos
            if done.all():
                break
            cond.step(token.to(cond.mask.device))
            if uncond is not None:
                uncond.step(token.to(uncond.mask.device))
    model.train(was_training)
    return out


def _advance(vocab: MultimodalVocabulary, state: torch.Tensor, token: torch.Tensor) -> torch.Tensor:
    state = torch.where(state >= 0, state + 1, state)  # one more code inside an image
    state = torch.where(token == vocab.boi, torch.zeros_like(state), state)
    return torch.where(token == vocab.eoi, torch.full_like(state, -1), state)


def _check_prompts(vocab: MultimodalVocabulary, model: torch.nn.Module, prompts: Sequence[Sequence[int]],
                   max_new_tokens: int, name: str) -> None:
    if isinstance(prompts, torch.Tensor) or not prompts or any(isinstance(p, (str, int)) for p in prompts):
        raise TypeError(f"{name} must be a non-empty list of id lists (tokens.MultimodalVocabulary.encode)")
    if any(len(p) == 0 for p in prompts):
        raise ValueError(f"{name}: every prompt needs at least one id")
    bad = [i for p in prompts for i in p if not 0 <= int(i) < len(vocab)]
    if bad:
        raise ValueError(f"{name}: ids must lie in [0, {len(vocab)}); got {bad[0]}")
    context = getattr(getattr(model, "config", None), "max_position_embeddings", None)
    longest = max(len(p) for p in prompts)
    if context is not None and longest + max_new_tokens > context:
        raise ValueError(f"{name}: the longest prompt ({longest} ids) + max_new_tokens ({max_new_tokens}) exceeds "
                         f"the model's context of {context} positions")
