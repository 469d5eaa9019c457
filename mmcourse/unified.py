"""Using a unified decoder: draw images from captions, read images into words, and score both.

:func:`draw` continues ``<s> draw : {caption} <boi>`` with image codes under the modality
mask of :mod:`mmcourse.sampling` and decodes them with the VQ decoder; :func:`read` continues
``<s> <boi> codes <eoi> {instruction}`` with words. The sequences themselves, and the task
mix the model is trained on, are in :mod:`mmcourse.sequences`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import torch

from .contracts import Float, Instance, Int, ListOf, Maybe, Tensor, Texts, contract
from .data.words import QA
from .models.vq import codes_to_image, image_to_codes
from .sampling import generate
from .sequences import draw_prompt, read_prompt
from .tokens import MultimodalVocabulary, unified_text_tokenizer

_VOCAB = Instance(MultimodalVocabulary, "a tokens.MultimodalVocabulary")
_CODES = Tensor(rank=3, kind="int", what="(batch, h, w) image codes")
_SAMPLING = {"guidance": Float(min=0), "temperature": Maybe(Float(min=0, open_min=True)), "top_k": Maybe(Int(min=1)),
             "plausibility": Maybe(Float(min=0, max=1, open_min=True)), "seed": Int(min=0)}


@contract(vq=Instance(torch.nn.Module, "a diffusers VQModel, e.g. zoo.load('vq-shapes')"))
def vocabulary_for(vq: Any) -> MultimodalVocabulary:
    """The unified vocabulary over ``vq``'s codebook: the shapes words, ``<boi>``/``<eoi>``, and
    one id per code, ``(side / 2^(blocks - 1))^2`` codes per image (64 for ``vq-shapes``).
    """
    config = getattr(vq, "config", None)
    if not all(hasattr(config, a) for a in ("num_vq_embeddings", "sample_size", "block_out_channels")):
        raise TypeError("vq must be a diffusers VQModel (a config with num_vq_embeddings, sample_size and "
                        f"block_out_channels), e.g. zoo.load('vq-shapes'); got {type(vq).__name__}")
    grid = config.sample_size // 2 ** (len(config.block_out_channels) - 1)
    return MultimodalVocabulary(unified_text_tokenizer(), config.num_vq_embeddings, grid * grid)


@dataclass
class UnifiedGPT:
    """A unified decoder assembled with its vocabulary and the VQ tokenizer whose codes it reads
    and writes (``zoo.pipeline("unified-shapes")``).
    """

    model: torch.nn.Module
    vocab: MultimodalVocabulary
    vq: torch.nn.Module

    def draw(self, captions: Sequence[str], **sampling: Any) -> torch.Tensor:
        """Text -> images in [0, 1] (B, 3, H, W): :func:`draw` with these parts."""
        return draw(self.model, self.vocab, self.vq, captions, **sampling)

    def read(self, images: torch.Tensor, instructions: Sequence[str], max_new_tokens: int = 12) -> list[str]:
        """Images in [0, 1] (B, 3, H, W) -> words: :func:`read` on their codes."""
        return read(self.model, self.vocab, image_to_codes(self.vq, images), instructions, max_new_tokens)


@contract(vocab=_VOCAB, captions=Texts(), **_SAMPLING)
def draw(model: torch.nn.Module, vocab: MultimodalVocabulary, vq: torch.nn.Module, captions: Sequence[str], *,
         guidance: float = 0.0, temperature: float | None = 1.0, top_k: int | None = None,
         plausibility: float | None = None, seed: int = 0) -> torch.Tensor:
    """Text -> image: sample ``tokens_per_image`` codes after ``draw : {caption} <boi>`` and
    decode them with the VQ decoder. Images in [0, 1], (B, 3, H, W).

    Used in: chapter 06
    """
    codes = draw_codes(model, vocab, captions, guidance=guidance, temperature=temperature, top_k=top_k,
                       plausibility=plausibility, seed=seed)
    return codes_to_image(vq, codes)


@contract(vocab=_VOCAB, captions=Texts(), **_SAMPLING)
def draw_codes(model: torch.nn.Module, vocab: MultimodalVocabulary, captions: Sequence[str], *, guidance: float = 0.0,
               temperature: float | None = 1.0, top_k: int | None = None, plausibility: float | None = None,
               seed: int = 0) -> torch.Tensor:
    """The code grids :func:`draw` decodes. (B, h, w)

    Used in: chapter 06
    """
    if isinstance(captions, str):
        raise TypeError("captions must be a list of strings, not one string")
    prompts = [draw_prompt(vocab, c) for c in captions]
    uncond = [draw_prompt(vocab, "")] * len(prompts)
    new = generate(model, vocab, prompts, max_new_tokens=vocab.tokens_per_image + 1, temperature=temperature,
                   top_k=top_k, guidance=guidance, uncond_prompts=uncond, plausibility=plausibility, seed=seed)
    N, side = vocab.tokens_per_image, int(round(vocab.tokens_per_image**0.5))
    return (torch.tensor([ids[:N] for ids in new]) - vocab.image_offset).view(len(prompts), side, side)


@contract(vocab=_VOCAB, codes=_CODES, instructions=Texts(), max_new_tokens=Int(min=1))
def read(model: torch.nn.Module, vocab: MultimodalVocabulary, codes: torch.Tensor, instructions: Sequence[str],
         max_new_tokens: int = 12) -> list[str]:
    """Image -> text, greedy: the words after ``<boi> codes <eoi> {instruction}`` for each image
    (``"describe :"`` captions, ``"{question} answer :"`` answers).

    Used in: chapter 06
    """
    if len(instructions) != len(codes):
        raise ValueError(f"instructions ({len(instructions)}) and codes ({len(codes)}) must pair up")
    prompts = [read_prompt(vocab, c, t) for c, t in zip(codes, instructions)]
    new = generate(model, vocab, prompts, max_new_tokens=max_new_tokens)
    return [vocab.text.decode([i for i in ids if i != vocab.eos and i != vocab.pad]) for ids in new]


@contract(caption=Instance(str, "a caption"), objects=ListOf(Instance(tuple), "(colour, shape) pairs"))
def names_exactly(caption: str, objects: Sequence[tuple[str, str]]) -> bool:
    """Does ``caption`` name exactly these (colour, shape) objects, no more, no fewer?"""
    from .data.vocabulary import COLORS, SHAPES

    words = caption.replace(",", " ").split()
    named = [(w, words[k + 1]) for k, w in enumerate(words[:-1]) if w in COLORS and words[k + 1] in SHAPES]
    loose = sum(w in COLORS for w in words) + sum(w in SHAPES for w in words)
    return sorted(named) == sorted(objects) and loose == 2 * len(named)


# ---------------------------------------------------------------------------------- scores
@contract(vocab=_VOCAB, judge=Instance(torch.nn.Module, "the zoo's shapes-cnn"),
          pairs=ListOf(Instance(tuple), "(colour, shape) pairs"), per_pair=Int(min=1))
def draw_scores(model: torch.nn.Module, vocab: MultimodalVocabulary, vq: torch.nn.Module, judge: torch.nn.Module,
                pairs: Sequence[tuple[str, str]], *, per_pair: int = 8, real: torch.Tensor | None = None,
                **sampling: object) -> dict[str, float]:
    """Draw ``per_pair`` images of each "a {colour} {shape}"; ``judge`` (the zoo's shapes
    classifier) reads them: colour / shape / pair accuracy; diversity as ``spread``, the mean
    cosine distance between the judge's features of two images drawn for the same prompt; and
    the Fréchet distance of the judge's features to ``real``.

    Used in: chapter 06
    """
    from .metrics.image import frechet_distance, prompt_accuracy

    captions = [f"a {c} {s}" for c, s in pairs for _ in range(per_pair)]
    codes = draw_codes(model, vocab, captions, **sampling)
    images = codes_to_image(vq, codes)
    colors, shapes = _pair_labels(pairs, per_pair)
    with torch.no_grad():
        device = next(judge.parameters()).device
        scores = prompt_accuracy(judge(images.to(device)).argmax(1).cpu(), colors, shapes)
        features = judge.features(images.to(device)).cpu()
        if real is not None:
            scores["frechet"] = frechet_distance(features, judge.features(real.to(device)).cpu())
    scores["spread"] = _spread(features.view(len(pairs), per_pair, -1)) if per_pair > 1 else 0.0
    return scores


def _spread(features: torch.Tensor) -> float:
    """Mean cosine distance between different samples of the same prompt; (P, S, D) features."""
    f = torch.nn.functional.normalize(features.float(), dim=-1)
    cos = f @ f.transpose(1, 2)  # (P, S, S)
    S = f.shape[1]
    return float((1 - cos).sum((1, 2)).mean() / (S * (S - 1)))


def _pair_labels(pairs: Sequence[tuple[str, str]], per_pair: int) -> tuple[torch.Tensor, torch.Tensor]:
    from .data.vocabulary import COLORS, SHAPES

    colors = torch.tensor([list(COLORS).index(c) for c, _ in pairs]).repeat_interleave(per_pair)
    shapes = torch.tensor([SHAPES.index(s) for _, s in pairs]).repeat_interleave(per_pair)
    return colors, shapes


@contract(vocab=_VOCAB, codes=_CODES, objects=ListOf(Instance((list, tuple)), "per scene, its (colour, shape) pairs"))
def caption_exactness(model: torch.nn.Module, vocab: MultimodalVocabulary, codes: torch.Tensor,
                      objects: Sequence[Sequence[tuple[str, str]]]) -> float:
    """The share of greedy captions that name exactly each scene's (colour, shape) objects.

    Used in: chapter 06
    """
    captions = read(model, vocab, codes, ["describe :"] * len(codes))
    return sum(names_exactly(c, o) for c, o in zip(captions, objects)) / len(captions)


@contract(vocab=_VOCAB, codes=_CODES, qas=ListOf(Instance(QA), "QA records (data.make_qa)"))
def vqa_scores(model: torch.nn.Module, vocab: MultimodalVocabulary, codes: torch.Tensor,
               qas: Sequence[QA]) -> dict[str, float]:
    """Exact-match accuracy of greedy answers, overall and per question kind.

    Used in: chapter 06
    """
    answers = read(model, vocab, codes[[q.index for q in qas]], [f"{q.question} answer :" for q in qas])
    right: dict[str, list[bool]] = {}
    for a, q in zip(answers, qas):
        right.setdefault(q.kind, []).append(a == q.answer)
        right.setdefault("all", []).append(a == q.answer)
    return {kind: sum(v) / len(v) for kind, v in sorted(right.items())}
