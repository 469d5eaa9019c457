"""Caption metrics as COCO reports them: BLEU-1...4, ROUGE-L and CIDEr-D.

Each follows the reference implementation papers report with, ``pycocoevalcap``
(``bleu/bleu_scorer.py``, ``rouge/rouge.py``, ``cider/cider_scorer.py``), and
``tests/metrics/test_captioning.py`` checks every function against it on the same inputs.
Like pycocoevalcap's scorers, these take captions already tokenised into words separated
by spaces: :func:`tokenize` lower-cases and splits off punctuation (COCO's PTB tokenizer
needs Java; on plain English captions it gives the same words).

* BLEU (Papineni et al. 2002, eq. on p. 315): clipped n-gram precisions p_n, their
  geometric mean, times the brevity penalty BP = exp(1 - r/c) when the candidates' total
  length c is below the references' r (for each caption, the reference length closest to
  its own). Corpus level: counts are summed over all captions before dividing.
* ROUGE-L (Lin 2004, §3.1): the longest common subsequence's precision and recall against
  the best reference, combined as an F-measure with beta = 1.2 (pycocoevalcap's choice).
* CIDEr-D (Vedantam et al. 2015, eq. 2-5): each caption's 1-4-grams weighted by TF-IDF, the
  IDF taken over the references of the evaluated set; the cosine with each reference, the
  candidate's counts clipped at the reference's, times a Gaussian length penalty
  (sigma = 6); averaged over n and references, times 10. Papers print it x100 ("133.3" is 1.333).
"""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Sequence

import numpy as np

from ..contracts import Float, Instance, Int, Strings, contract, same_length

_PUNCT = re.compile(r"[^\w\s']|_")


@contract(caption=Instance(str, "a string"))
def tokenize(caption: str) -> str:
    """``"A red circle, left."`` -> ``"a red circle left"``: lower case, punctuation dropped,

    Used in: chapter 07
    words joined by single spaces (what the scorers below split on)."""
    return " ".join(_PUNCT.sub(" ", caption.lower()).split())


def _ngrams(words: Sequence[str], n: int) -> Counter:
    return Counter(tuple(words[i:i + n]) for i in range(len(words) - n + 1))


def _check_pairs(candidates: Sequence[str], references: Sequence[Sequence[str]]) -> None:
    if len(candidates) != len(references):
        raise ValueError(f"candidates ({len(candidates)}) and references ({len(references)}) must have the same length")
    for i, refs in enumerate(references):
        if isinstance(refs, str) or not isinstance(refs, Sequence):
            raise TypeError(f"references[{i}] must be a list of reference captions; got {type(refs).__name__}")
        if len(refs) == 0:
            raise ValueError(f"references[{i}] is an empty list: every caption needs at least one reference")
        if not all(isinstance(r, str) for r in refs):
            raise TypeError(f"references[{i}] must hold strings")


_REFS = Instance((list, tuple), "a list with one list of reference captions per candidate")


@contract(same_length("candidates", "references"), candidates=Strings(), references=_REFS, max_n=Int(min=1, max=8))
def bleu_statistics(candidates: Sequence[str], references: Sequence[Sequence[str]], max_n: int = 4) -> np.ndarray:
    """Per-caption counts BLEU sums over the corpus, (N, 2 + 2 * max_n): candidate length,
    closest reference length, then clipped matches and candidate n-grams for n = 1..max_n.
    Summing rows and calling :func:`bleu_from_statistics` gives corpus BLEU for any subset
    (what a bootstrap needs) without counting n-grams again.

    Used in: chapter 07
    """
    _check_pairs(candidates, references)
    rows = []
    for cand, refs in zip(candidates, references):
        words, ref_words = cand.split(), [r.split() for r in refs]
        # 1. the reference length closest to this caption's (ties: the shorter)
        closest = min((abs(len(r) - len(words)), len(r)) for r in ref_words)[1]
        correct, guessed = [], []
        for n in range(1, max_n + 1):
            # 2. clipped matches: an n-gram counts at most as often as in any one reference
            most = Counter()
            for r in ref_words:
                most |= _ngrams(r, n)
            correct.append(sum(min(c, most[g]) for g, c in _ngrams(words, n).items()))
            guessed.append(max(0, len(words) - n + 1))
        rows.append([len(words), closest, *correct, *guessed])
    return np.array(rows, dtype=float)


def bleu_from_statistics(stats: np.ndarray) -> dict[str, float]:
    """Corpus BLEU-1 ... BLEU-n from the summed rows of :func:`bleu_statistics`."""
    total = np.asarray(stats, dtype=float).sum(0)
    max_n = (len(total) - 2) // 2
    cand_len, ref_len, correct, guessed = total[0], total[1], total[2:2 + max_n], total[2 + max_n:]
    # 3. geometric mean of the precisions; pycocoevalcap adds 1e-15 / 1e-9 so log(0) never happens
    tiny, small = 1e-15, 1e-9
    ratio = (cand_len + tiny) / (ref_len + small)
    brevity = math.exp(1 - 1 / ratio) if ratio < 1 else 1.0  # 4. the brevity penalty
    out, product = {}, 1.0
    for n in range(1, max_n + 1):
        product *= (correct[n - 1] + tiny) / (guessed[n - 1] + small)
        out[f"BLEU-{n}"] = float(product ** (1 / n) * brevity)
    return out


@contract(same_length("candidates", "references"), candidates=Strings(), references=_REFS, max_n=Int(min=1, max=8))
def bleu(candidates: Sequence[str], references: Sequence[Sequence[str]], max_n: int = 4) -> dict[str, float]:
    """Corpus BLEU-1 ... BLEU-``max_n`` of tokenised ``candidates`` against their ``references``.

    Used in: chapter 07
    """
    return bleu_from_statistics(bleu_statistics(candidates, references, max_n))


def _lcs(a: Sequence[str], b: Sequence[str]) -> int:
    """Length of the longest common subsequence, by dynamic programming."""
    row = [0] * (len(b) + 1)
    for x in a:
        diagonal = 0
        for j, y in enumerate(b, start=1):
            diagonal, row[j] = row[j], diagonal + 1 if x == y else max(row[j], row[j - 1])
    return row[-1]


@contract(same_length("candidates", "references"), candidates=Strings(), references=_REFS,
          beta=Float(min=0, open_min=True))
def rouge_l(candidates: Sequence[str], references: Sequence[Sequence[str]], beta: float = 1.2) -> np.ndarray:
    """ROUGE-L F-measure of each tokenised candidate against its best references (N,).

    Used in: chapter 07
    """
    _check_pairs(candidates, references)
    scores = []
    for cand, refs in zip(candidates, references):
        words = cand.split()
        lcs = [_lcs(r.split(), words) for r in refs]
        precision = max((m / len(words) if words else 0.0) for m in lcs)
        recall = max((m / len(r.split()) if r.split() else 0.0) for m, r in zip(lcs, refs))
        scores.append((1 + beta**2) * precision * recall / (recall + beta**2 * precision)
                      if precision and recall else 0.0)
    return np.array(scores)


def _tfidf(counts: Counter, df: Counter, log_n: float, max_n: int) -> tuple[list[dict], np.ndarray, int]:
    """TF-IDF vector per n, its norms, and the caption's length (CIDEr-D counts bigrams)."""
    vec: list[dict] = [{} for _ in range(max_n)]
    for gram, tf in counts.items():
        vec[len(gram) - 1][gram] = tf * (log_n - math.log(max(1.0, df[gram])))
    norms = np.array([math.sqrt(sum(v * v for v in d.values())) for d in vec])
    length = sum(tf for gram, tf in counts.items() if len(gram) == 2)
    return vec, norms, length


@contract(same_length("candidates", "references"), candidates=Strings(), references=_REFS,
          sigma=Float(min=0, open_min=True))
def cider_d(candidates: Sequence[str], references: Sequence[Sequence[str]], sigma: float = 6.0,
            max_n: int = 4) -> np.ndarray:
    """CIDEr-D of each tokenised candidate (N,), on pycocoevalcap's x10 scale; the corpus
    score is the mean. The IDF comes from these references, so the score of one caption
    depends on the whole evaluated set.

    Used in: chapter 07
    """
    _check_pairs(candidates, references)

    def grams(text: str) -> Counter:
        words = text.split()
        return sum((_ngrams(words, n) for n in range(1, max_n + 1)), Counter())

    ref_grams = [[grams(r) for r in refs] for refs in references]
    # 1. document frequency: in how many images' reference sets each n-gram occurs
    df = Counter(g for refs in ref_grams for g in set().union(*refs))
    log_n = math.log(len(references))
    scores = []
    for cand, refs in zip(candidates, ref_grams):
        vec, norm, length = _tfidf(grams(cand), df, log_n, max_n)
        total = np.zeros(max_n)
        for ref in refs:
            vec_r, norm_r, length_r = _tfidf(ref, df, log_n, max_n)
            for n in range(max_n):
                # 2. clipped dot product: min(candidate, reference) x reference
                dot = sum(min(v, vec_r[n].get(g, 0.0)) * vec_r[n].get(g, 0.0) for g, v in vec[n].items())
                cosine = dot / (norm[n] * norm_r[n]) if norm[n] and norm_r[n] else dot
                # 3. the Gaussian length penalty
                total[n] += cosine * math.exp(-((length - length_r) ** 2) / (2 * sigma**2))
        scores.append(10.0 * total.mean() / len(refs))  # 4. mean over n and references, x10
    return np.array(scores)
