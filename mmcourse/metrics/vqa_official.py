"""The VQA accuracy exactly as the official evaluation computes it.

``GT-Vision-Lab/VQA PythonEvaluationTools/vqaEvaluation/vqaEval.py`` (its Python 3 version):

1. the prediction: newlines and tabs to spaces, stripped, then :func:`process_punctuation`
   and :func:`process_digit_article` (lower case, number words to digits, articles dropped,
   contractions restored);
2. the ten human answers get :func:`process_punctuation` only, and only when they disagree:
   no lower-casing, no number words. Ten humans who all wrote "Yes" therefore match no
   prediction at all, since the prediction is lower-cased;
3. for each human answer left out, min(1, matches among the other nine / 3); the ten averaged.

:func:`mmcourse.metrics.vqa.vqa_accuracy` (chapter 03) normalises both sides always, as the
VizWiz and lmms-eval variants do; chapter 07 measures how much the choice moves a score.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from ..contracts import Instance, Strings, contract

_NUMBERS = {"none": "0", "zero": "0", "one": "1", "two": "2", "three": "3", "four": "4", "five": "5", "six": "6",
            "seven": "7", "eight": "8", "nine": "9", "ten": "10"}
_ARTICLES = {"a", "an", "the"}
# a few of the official list's contractions (it restores about 170, e.g. "dont" -> "don't")
_CONTRACTIONS = {"aint": "ain't", "arent": "aren't", "cant": "can't", "couldnt": "couldn't", "didnt": "didn't",
                 "doesnt": "doesn't", "dont": "don't", "isnt": "isn't", "its": "its", "thats": "that's",
                 "wasnt": "wasn't", "werent": "weren't", "wont": "won't", "wouldnt": "wouldn't", "youre": "you're"}
_PUNCT = [";", "/", "[", "]", '"', "{", "}", "(", ")", "=", "+", "\\", "_", "-", ">", "<", "@", "`", ",", "?", "!"]
_COMMA_IN_NUMBER = re.compile(r"(\d)(,)(\d)")
_PERIOD = re.compile(r"(?!<=\d)(\.)(?!\d)")  # as written upstream: a period not followed by a digit


@contract(text=Instance(str, "a string"))
def process_punctuation(text: str) -> str:
    """Punctuation next to a space (or anywhere, in a string with a comma between digits) is
    deleted; elsewhere it becomes a space. Then periods not followed by a digit go.
    """
    out = text
    for p in _PUNCT:
        if p + " " in text or " " + p in text or _COMMA_IN_NUMBER.search(text):
            out = out.replace(p, "")
        else:
            out = out.replace(p, " ")
    return _PERIOD.sub("", out)


@contract(text=Instance(str, "a string"))
def process_digit_article(text: str) -> str:
    """Lower case, number words to digits, articles dropped, contractions restored."""
    words = [_NUMBERS.get(w, w) for w in text.lower().split()]
    return " ".join(_CONTRACTIONS.get(w, w) for w in words if w not in _ARTICLES)


@contract(prediction=Instance(str, "a string"), human_answers=Strings(min_len=2))
def official_vqa_accuracy(prediction: str, human_answers: Sequence[str]) -> float:
    """One question's score, steps 1-3 above (1.0 when at least 3 of any 9 humans agree).

    Used in: chapter 07
    """
    pred = " ".join(prediction.replace("\n", " ").replace("\t", " ").split())
    pred = process_digit_article(process_punctuation(pred))
    gts = list(human_answers)
    if len(set(gts)) > 1:
        gts = [process_punctuation(a) for a in gts]
    scores = [min(1.0, sum(g == pred for g in gts[:i] + gts[i + 1:]) / 3) for i in range(len(gts))]
    return sum(scores) / len(scores)
