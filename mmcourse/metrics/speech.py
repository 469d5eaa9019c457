"""Speech recognition metrics: word and character error rates from edit distance.

WER = (substitutions + deletions + insertions) / words in the references, summed over the
whole corpus before dividing (as ``jiwer`` and the Whisper paper compute it), so a long
utterance weighs more than a short one. CER is the same over characters.
``tests/metrics/test_speech.py`` checks both against ``jiwer`` on every case.
"""

from __future__ import annotations

from collections.abc import Sequence

from ..contracts import Instance, Strings, contract, same_length


@contract(reference=Instance((list, tuple), "a list of tokens, e.g. 'three one four'.split()"),
          hypothesis=Instance((list, tuple), "a list of tokens, e.g. 'three four'.split()"))
def edit_distance(reference: Sequence[str], hypothesis: Sequence[str]) -> int:
    """Levenshtein distance: the fewest substitutions, deletions and insertions that turn
    ``reference`` into ``hypothesis`` (two token sequences), by dynamic programming.

    Used in: chapter 04
    """
    if not all(isinstance(t, str) for t in [*reference, *hypothesis]):
        raise TypeError("reference and hypothesis must hold strings (words, or characters), e.g. 'one two'.split()")
    # d[j] = distance between the first i reference tokens and the first j hypothesis tokens
    d = list(range(len(hypothesis) + 1))  # row i = 0: j insertions
    for i, ref_token in enumerate(reference, start=1):
        diagonal, d[0] = d[0], i  # column j = 0: i deletions
        for j, hyp_token in enumerate(hypothesis, start=1):
            substitute = diagonal + (ref_token != hyp_token)
            diagonal = d[j]
            d[j] = min(substitute, d[j] + 1, d[j - 1] + 1)  # substitute/match, delete, insert
    return d[-1]


def _error_rate(references: Sequence[str], hypotheses: Sequence[str], split) -> float:
    errors = total = 0
    for ref, hyp in zip(references, hypotheses):
        ref_tokens = split(ref)
        if not ref_tokens:
            raise ValueError(f"references holds an empty transcript ({ref!r}): an error rate needs words to count")
        errors += edit_distance(ref_tokens, split(hyp))
        total += len(ref_tokens)
    return errors / total


@contract(same_length("references", "hypotheses"), references=Strings(), hypotheses=Strings())
def word_error_rate(references: Sequence[str], hypotheses: Sequence[str]) -> float:
    """Corpus WER: word edits summed over all pairs / reference words (can exceed 1).

    Used in: chapters 04, 07
    """
    return _error_rate(references, hypotheses, str.split)


@contract(same_length("references", "hypotheses"), references=Strings(), hypotheses=Strings())
def character_error_rate(references: Sequence[str], hypotheses: Sequence[str]) -> float:
    """Corpus CER: character edits (spaces included) / reference characters.

    Used in: chapters 04, 07
    """
    return _error_rate(references, hypotheses, lambda s: list(s.strip()))
