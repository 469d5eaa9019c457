"""One vocabulary for text and images: the "everything is a token" idea of early-fusion models.

Chameleon (Team, 2024, §2.1) turns a 512x512 image into 1,024 codes of an 8,192-entry VQ
codebook and gives those codes ids in the same 65,536-token vocabulary as its text, so one
decoder reads and writes both. The layout here is the same, small:

    [0, T)              the text tokenizer's ids (its <pad> <unk> <s> </s> included)
    T, T + 1            <boi>, <eoi>: begin / end of image
    [T + 2, T + 2 + K)  image codes 0..K-1, shifted by the offset T + 2

A *document* is a list of segments, each a string or a (h, w) grid of image codes;
:meth:`MultimodalVocabulary.encode` turns it into ids and :meth:`~MultimodalVocabulary.decode`
back, exactly, refusing ids that break the layout.
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import lru_cache
from typing import Any

import torch

from .chat import make_tokenizer
from .contracts import Int, contract

BOI, EOI = "<boi>", "<eoi>"
Segment = str | torch.Tensor


class MultimodalVocabulary:
    """Text ids, then ``<boi>`` and ``<eoi>``, then ``codebook_size`` image codes.

    Used in: chapter 06
    """

    @contract(codebook_size=Int(min=2), tokens_per_image=Int(min=1))
    def __init__(self, text_tokenizer: Any, codebook_size: int, tokens_per_image: int) -> None:
        for attr in ("pad_token_id", "bos_token_id", "eos_token_id"):
            if getattr(text_tokenizer, attr, None) is None:
                raise ValueError(f"text_tokenizer must define {attr} (e.g. tokens.unified_text_tokenizer())")
        self.text = text_tokenizer
        self.text_size = len(text_tokenizer)
        self.boi, self.eoi = self.text_size, self.text_size + 1
        self.image_offset = self.text_size + 2
        self.codebook_size, self.tokens_per_image = codebook_size, tokens_per_image
        self.pad, self.bos, self.eos = text_tokenizer.pad_token_id, text_tokenizer.bos_token_id, text_tokenizer.eos_token_id

    def __len__(self) -> int:
        return self.image_offset + self.codebook_size

    def __repr__(self) -> str:
        return (f"MultimodalVocabulary(text [0, {self.text_size}), <boi> {self.boi}, <eoi> {self.eoi}, "
                f"image codes [{self.image_offset}, {len(self)}), {self.tokens_per_image} per image)")

    def ranges(self) -> dict[str, tuple[int, int]]:
        """Each modality's id range, [start, end)."""
        return {"text": (0, self.text_size), "special": (self.boi, self.image_offset),
                "image": (self.image_offset, len(self))}

    def is_image(self, ids: torch.Tensor) -> torch.Tensor:
        """True where an id is an image code."""
        return ids >= self.image_offset

    # ------------------------------------------------------------------ encoding
    def encode_text(self, text: str) -> list[int]:
        if not isinstance(text, str):
            raise TypeError(f"a text segment must be a string; got {type(text).__name__}")
        return self.text(text, add_special_tokens=False).input_ids

    def encode_image(self, codes: torch.Tensor, name: str = "codes") -> list[int]:
        """<boi>, the codes row by row shifted by the offset, <eoi>."""
        if not isinstance(codes, torch.Tensor) or codes.dtype not in (torch.int64, torch.int32):
            raise TypeError(f"{name} must be an integer tensor of image codes; got {type(codes).__name__}"
                            + (f" of {codes.dtype}" if isinstance(codes, torch.Tensor) else ""))
        if codes.numel() != self.tokens_per_image:
            raise ValueError(f"{name} must hold {self.tokens_per_image} image codes; got {codes.numel()} "
                             f"(shape {tuple(codes.shape)})")
        if codes.min() < 0 or codes.max() >= self.codebook_size:
            raise ValueError(f"{name}: image codes must lie in [0, {self.codebook_size}); got "
                             f"[{int(codes.min())}, {int(codes.max())}]")
        return [self.boi, *(codes.flatten() + self.image_offset).tolist(), self.eoi]

    def encode(self, document: Sequence[Segment], *, bos: bool = True, eos: bool = True) -> list[int]:
        """A document (strings and code grids, in any order) -> one list of ids."""
        if isinstance(document, (str, torch.Tensor)):
            document = [document]
        ids = [self.bos] if bos else []
        for k, segment in enumerate(document):
            if not isinstance(segment, (str, torch.Tensor)):
                raise TypeError(f"document[{k}] has an unknown modality ({type(segment).__name__}): a segment is "
                                "text (a string) or an image (an integer tensor of codes)")
            ids += self.encode_text(segment) if isinstance(segment, str) else self.encode_image(segment, f"document[{k}]")
        return ids + ([self.eos] if eos else [])

    # ------------------------------------------------------------------ decoding
    def decode(self, ids: Sequence[int] | torch.Tensor, grid: tuple[int, int] | None = None) -> list[Segment]:
        """Ids -> segments: strings and (h, w) code grids (a flat row if ``grid`` is None and the
        image is not square). <s>, </s> and <pad> are dropped.
        """
        ids = ids.tolist() if isinstance(ids, torch.Tensor) else list(ids)
        if any(not isinstance(i, int) or i < 0 or i >= len(self) for i in ids):
            bad = next(i for i in ids if not isinstance(i, int) or i < 0 or i >= len(self))
            raise ValueError(f"ids must be ints in [0, {len(self)}); got {bad!r}")
        segments: list[Segment] = []
        text: list[int] = []
        image: list[int] | None = None
        for pos, i in enumerate(ids):
            if image is not None:  # inside <boi> ... <eoi>
                if i == self.eoi:
                    segments.append(self._image_segment(image, pos, grid))
                    image = None
                elif i < self.image_offset:
                    raise ValueError(f"ids[{pos}] = {i} is a text id inside an image span (opened by <boi>); "
                                     f"only image codes [{self.image_offset}, {len(self)}) may appear there")
                else:
                    image.append(i - self.image_offset)
            elif i == self.boi:
                segments += [self.text.decode(text)] if text else []
                text, image = [], []
            elif i == self.eoi or i >= self.image_offset:
                raise ValueError(f"ids[{pos}] = {i} is an image id outside any <boi> ... <eoi> span")
            elif i not in (self.bos, self.eos, self.pad):
                text.append(i)
        if image is not None:
            raise ValueError(f"the image span opened by <boi> has no <eoi> ({len(image)} codes so far)")
        return segments + ([self.text.decode(text)] if text else [])

    def _image_segment(self, codes: list[int], pos: int, grid: tuple[int, int] | None) -> torch.Tensor:
        if len(codes) != self.tokens_per_image:
            raise ValueError(f"the image span ending at ids[{pos}] holds {len(codes)} codes; "
                             f"an image has {self.tokens_per_image}")
        side = int(round(self.tokens_per_image**0.5))
        grid = grid or ((side, side) if side * side == self.tokens_per_image else (1, self.tokens_per_image))
        return torch.tensor(codes).view(*grid)


@lru_cache(maxsize=1)
def _corpus() -> tuple[str, ...]:
    from .data import make_qa, make_shapes

    sample = make_shapes(3000, seed=12345)
    qas = make_qa(sample, per_image=3, seed=12345)
    return (*sample.captions, *(f"{q.question} {q.answer}" for q in qas))


@contract()
def unified_text_tokenizer() -> Any:
    """The word-level text tokenizer of the unified model: every word of single-object shapes
    captions, questions and answers, plus the task words ``draw`` and ``describe`` and ``:``.

    Used in: chapter 06
    """
    return make_tokenizer(_corpus(), extra_words=["draw : describe : answer :"])
