"""Scoring answers: VQA normalisation, exact match, the official VQA accuracy, caption objects.

The normalisation follows the official evaluation script
(``GT-Vision-Lab/VQA PythonEvaluationTools/vqaEvaluation/vqaEval.py``): lower-case,
strip punctuation (keeping a decimal point between digits), number words -> digits,
drop the articles a / an / the (contractions are not restored: the course's answers
have none). One difference, stated: the official script normalises the prediction and
the human answers only when the ten humans disagree; here both sides are always
normalised, as the VizWiz and lmms-eval variants do.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from ..contracts import Instance, Strings, contract, same_length
from ..data.vocabulary import COLORS, NUMBER_WORDS, SHAPES

_NUMBERS = {w: str(i) for i, w in enumerate(NUMBER_WORDS)} | {
    "five": "5", "six": "6", "seven": "7", "eight": "8", "nine": "9", "ten": "10", "none": "0"}
_ARTICLES = {"a", "an", "the"}
_PUNCT = re.compile(r"[;/\[\]\"{}()=+\\_\-><@`,?!*#%^&$:']")


@contract(answer=Instance(str, "a string"))
def normalize_answer(answer: str) -> str:
    """``"Two."`` -> ``"2"``, ``"The Red"`` -> ``"red"``: the VQA evaluation's normalisation.
    """
    if not isinstance(answer, str):
        raise TypeError(f"answer must be a string; got {type(answer).__name__}")
    text = answer.replace("\n", " ").replace("\t", " ").strip().lower()
    text = _PUNCT.sub(" ", text)
    text = re.sub(r"(?<!\d)\.|\.(?!\d)", " ", text)  # a period, unless inside a number like 2.5
    words = [_NUMBERS.get(w, w) for w in text.split() if w not in _ARTICLES]
    return " ".join(words)


@contract(same_length("predictions", "answers"), predictions=Strings(), answers=Strings())
def exact_match(predictions: Sequence[str], answers: Sequence[str]) -> float:
    """Fraction of predictions equal to their answer after :func:`normalize_answer`.

    Used in: chapter 03
    """
    if isinstance(predictions, str) or isinstance(answers, str):
        raise TypeError("predictions and answers must be lists of strings, not one string")
    if len(predictions) != len(answers):
        raise ValueError(f"predictions ({len(predictions)}) and answers ({len(answers)}) must have the same length")
    if not predictions:
        raise ValueError("predictions must not be empty")
    return sum(normalize_answer(p) == normalize_answer(a) for p, a in zip(predictions, answers)) / len(answers)


@contract(prediction=Instance(str, "a string"), human_answers=Strings(min_len=2))
def vqa_accuracy(prediction: str, human_answers: Sequence[str]) -> float:
    """The VQA score of one prediction against 10 human answers: for each answer left out,
    min(1, matches among the other 9 / 3); averaged over the 10 (vqaEval.py).

    Used in: chapters 03, 07
    """
    if isinstance(human_answers, str) or len(human_answers) < 2:
        raise ValueError("human_answers must be a list of at least two answers (VQA v2 has 10)")
    pred = normalize_answer(prediction)
    gts = [normalize_answer(a) for a in human_answers]
    scores = []
    for i in range(len(gts)):
        others = gts[:i] + gts[i + 1 :]
        scores.append(min(1.0, sum(g == pred for g in others) / 3))
    return sum(scores) / len(scores)


@contract(caption=Instance(str, "a string"))
def caption_objects(caption: str) -> list[tuple[str, str]]:
    """The (colour, shape) pairs a shapes caption names, in order.

    Used in: chapter 07
    """
    words = normalize_answer(caption).split()
    return [(w, s) for w, s in zip(words, words[1:]) if w in COLORS and s in SHAPES]


@contract(same_length("captions", "references"), captions=Strings(), references=Strings())
def caption_object_accuracy(captions: Sequence[str], references: Sequence[str]) -> float:
    """Fraction of captions that name exactly the reference's objects (as a multiset of
    colour-shape pairs; the wording may differ).
    """
    if len(captions) != len(references) or not captions:
        raise ValueError("captions and references must be non-empty and of the same length")
    hits = sum(sorted(caption_objects(c)) == sorted(caption_objects(r)) for c, r in zip(captions, references))
    return hits / len(captions)


@contract(same_length("predictions", "answers"), predictions=Strings(), answers=Strings())
def pope_scores(predictions: Sequence[str], answers: Sequence[str]) -> dict[str, float]:
    """POPE's numbers for yes/no probes (Li et al., 2023, §3): accuracy, and precision,
    recall and F1 with "yes" as the positive class, plus the share of "yes" answers (a
    model that hallucinates says "yes" too often). Answers other than yes/no count as wrong.
    """
    if isinstance(predictions, str) or isinstance(answers, str):
        raise TypeError("predictions and answers must be lists of strings, not one string")
    if len(predictions) != len(answers) or not answers:
        raise ValueError(f"predictions ({len(predictions)}) and answers ({len(answers)}) must be non-empty and "
                         "of the same length")
    preds = [normalize_answer(p) for p in predictions]
    truth = [normalize_answer(a) for a in answers]
    if set(truth) - {"yes", "no"}:
        raise ValueError(f"answers must be 'yes' or 'no'; got {sorted(set(truth) - {'yes', 'no'})}")
    tp = sum(p == "yes" and t == "yes" for p, t in zip(preds, truth))
    fp = sum(p == "yes" and t == "no" for p, t in zip(preds, truth))
    fn = sum(p != "yes" and t == "yes" for p, t in zip(preds, truth))
    precision = tp / (tp + fp) if tp + fp else 0.0
    recall = tp / (tp + fn) if tp + fn else 0.0
    return {"accuracy": sum(p == t for p, t in zip(preds, truth)) / len(truth), "precision": precision,
            "recall": recall, "f1": 2 * precision * recall / (precision + recall) if precision + recall else 0.0,
            "yes ratio": preds.count("yes") / len(preds)}
