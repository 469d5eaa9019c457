"""Text as tokens: character, word and subword (BPE) tokenizers, compared on real text.

The course's captions are tiny and regular, so the comparison also uses real English
that ships inside scikit-learn (the descriptions of its data sets, ``sklearn/datasets/
descr/*.rst``): no download. The BPE tokenizer is trained with the ``tokenizers``
library (the one behind transformers' fast tokenizers), byte-level like GPT-2 and CLIP.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from .contracts import Bool, Instance, Int, Texts, contract

PAD, UNK, BOS, EOS = "[PAD]", "[UNK]", "[BOS]", "[EOS]"
SPECIALS = (PAD, UNK, BOS, EOS)
_WORD = re.compile(r"\w+|[^\w\s]")


@contract()
def packaged_documents() -> dict[str, str]:
    """English documents that ship with scikit-learn: ``{name: text}``.

    Used in: chapter 01
    """
    import sklearn.datasets

    folder = Path(sklearn.datasets.__file__).parent / "descr"
    docs = {p.stem: p.read_text(encoding="utf-8") for p in sorted(folder.glob("*.rst"))}
    if not docs:  # pragma: no cover - every scikit-learn release ships them
        raise FileNotFoundError(f"no .rst descriptions found in {folder}")
    return docs


@contract(text=Instance(str, "a string of prose"), min_words=Int(min=1))
def sentences(text: str, min_words: int = 3) -> list[str]:
    """Split prose into sentences (RST markup lines dropped), keeping those of ``min_words``+.

    Used in: chapter 01
    """
    markup = re.compile(r"^\s*([=\-~*:.^]{3,}|\.\.|:)")
    raw = text.splitlines()
    titles = {i for i in range(len(raw) - 1) if raw[i].strip() and re.fullmatch(r"\s*[=\-~^*]{3,}\s*", raw[i + 1])}
    lines = [ln for i, ln in enumerate(raw) if ln.strip() and i not in titles and not markup.match(ln)]
    flat = re.sub(r"\s+", " ", " ".join(lines))
    return [s.strip() for s in re.split(r"(?<=[.!?])\s+", flat) if len(s.split()) >= min_words]


def _check_texts(texts: Iterable[str], name: str = "texts") -> list[str]:
    texts = list(texts)
    if not texts or not all(isinstance(t, str) for t in texts):
        raise ValueError(f"{name} must be a non-empty list of strings")
    return texts


@dataclass
class CharTokenizer:
    """One token per character; unseen characters become ``[UNK]``.

    Used in: chapter 01
    """

    vocab: dict[str, int]

    @classmethod
    @contract(texts=Texts())
    def train(cls, texts: Iterable[str]) -> CharTokenizer:
        chars = sorted({ch for t in _check_texts(texts) for ch in t})
        return cls({tok: i for i, tok in enumerate([*SPECIALS, *chars])})

    def tokenize(self, text: str) -> list[str]:
        return [ch if ch in self.vocab else UNK for ch in text]

    def encode(self, text: str) -> list[int]:
        return [self.vocab[t] for t in self.tokenize(text)]

    @property
    def vocab_size(self) -> int:
        return len(self.vocab)


@dataclass
class WordTokenizer:
    """One token per lower-cased word or punctuation mark; the ``max_vocab`` most frequent
    words of the training text are known, everything else is ``[UNK]``.

    Used in: chapter 01
    """

    vocab: dict[str, int]

    @classmethod
    @contract(texts=Texts(), max_vocab=Int(min=5))
    def train(cls, texts: Iterable[str], max_vocab: int = 5000) -> WordTokenizer:
        if max_vocab <= len(SPECIALS):
            raise ValueError(f"max_vocab must exceed the {len(SPECIALS)} special tokens; got {max_vocab}")
        counts = Counter(w for t in _check_texts(texts) for w in _WORD.findall(t.lower()))
        words = [w for w, _ in counts.most_common(max_vocab - len(SPECIALS))]
        return cls({tok: i for i, tok in enumerate([*SPECIALS, *words])})

    def tokenize(self, text: str) -> list[str]:
        return [w if w in self.vocab else UNK for w in _WORD.findall(text.lower())]

    def encode(self, text: str) -> list[int]:
        return [self.vocab[t] for t in self.tokenize(text)]

    @property
    def vocab_size(self) -> int:
        return len(self.vocab)


class BPETokenizer:
    """Byte-level BPE trained with the ``tokenizers`` library (as GPT-2 and CLIP use).

    Byte-level means every string can be encoded: an unseen word falls back to smaller
    pieces, down to single bytes, so there is never an ``[UNK]``.

    Used in: chapter 01
    """

    def __init__(self, tokenizer) -> None:
        self.tokenizer = tokenizer

    @classmethod
    @contract(texts=Texts(), vocab_size=Int(min=300), lowercase=Bool())
    def train(cls, texts: Iterable[str], vocab_size: int = 1000, lowercase: bool = True) -> BPETokenizer:
        from tokenizers import Tokenizer, decoders, models, normalizers, pre_tokenizers, trainers

        if vocab_size < 300:
            raise ValueError(f"vocab_size must be >= 300 (256 bytes + specials + merges); got {vocab_size}")
        tok = Tokenizer(models.BPE(unk_token=None))
        if lowercase:  # CLIP lower-cases its text (CLIP paper section 2.4)
            tok.normalizer = normalizers.Lowercase()
        tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=True)
        tok.decoder = decoders.ByteLevel()
        trainer = trainers.BpeTrainer(vocab_size=vocab_size, special_tokens=list(SPECIALS),
                                      initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
                                      show_progress=False)
        tok.train_from_iterator(_check_texts(texts), trainer=trainer)
        return cls(tok)

    def tokenize(self, text: str) -> list[str]:
        return self.tokenizer.encode(text).tokens

    def encode(self, text: str) -> list[int]:
        return self.tokenizer.encode(text).ids

    def decode(self, ids: Sequence[int]) -> str:
        return self.tokenizer.decode(list(ids)).strip()

    @property
    def vocab_size(self) -> int:
        return self.tokenizer.get_vocab_size()


@contract(tokenizers=Instance(dict, "a dict of name -> tokenizer"), texts=Texts())
def compare(tokenizers: dict[str, object], texts: Sequence[str]) -> list[dict[str, float | int | str]]:
    """Vocabulary size, mean tokens per text and the share of ``[UNK]`` tokens on ``texts``.

    Used in: chapter 01
    """
    texts = _check_texts(texts)
    rows = []
    for name, tok in tokenizers.items():
        pieces = [tok.tokenize(t) for t in texts]
        n = sum(len(p) for p in pieces)
        unk = sum(p.count(UNK) for p in pieces)
        rows.append({"tokenizer": name, "vocab size": tok.vocab_size,
                     "tokens per sentence": n / len(texts), "unknown tokens": unk / max(n, 1)})
    return rows


@contract(texts=Texts(), context_length=Int(min=2), truncate=Bool())
def encode_batch(tokenizer, texts: Sequence[str], context_length: int, *, truncate: bool = False):
    """Token ids of several texts as a (B, context_length) tensor: [BOS] text [EOS] [PAD]...

    Special ids come from the tokenizer's vocabulary (``[PAD]`` must be 0). A text longer
    than ``context_length`` raises, unless ``truncate`` (then [EOS] is kept last).
    """
    import torch

    vocab = tokenizer.vocab if hasattr(tokenizer, "vocab") else tokenizer.tokenizer.get_vocab()
    pad, bos, eos = vocab[PAD], vocab[BOS], vocab[EOS]
    if pad != 0:
        raise ValueError(f"the tokenizer's {PAD} id must be 0; got {pad}")
    out = torch.zeros(len(texts), context_length, dtype=torch.long)
    for i, t in enumerate(_check_texts(texts)):
        ids = [bos, *tokenizer.encode(t), eos]
        if len(ids) > context_length:
            if not truncate:
                raise ValueError(f"text {i} is {len(ids)} tokens with [BOS]/[EOS]; context_length={context_length} "
                                 "(pass truncate=True to cut it)")
            ids = ids[: context_length - 1] + [eos]
        out[i, : len(ids)] = torch.tensor(ids)
    return out


@dataclass
class TextBatcher:
    """``batcher(["a red circle", ...]) -> (B, context_length)`` ids; attach to a CLIP as
    ``model.tokenizer`` so that ``encode_text`` accepts strings.
    """

    tokenizer: object
    context_length: int
    truncate: bool = False

    def __call__(self, texts: Sequence[str]):
        return encode_batch(self.tokenizer, texts, self.context_length, truncate=self.truncate)
