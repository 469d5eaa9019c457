"""Metrics, each checked against the implementation papers report with (tests/metrics/).

* :mod:`.classification` -- accuracy, confusion matrix, batched predictions (chapter 00);
* :mod:`.retrieval` -- ranks, Recall@K, mean and median rank (chapter 02);
* :mod:`.vqa` -- VQA answer normalisation, exact match, the official VQA accuracy (chapter 03);
* :mod:`.speech` -- edit distance, word and character error rates (chapter 04; import it
  as ``mmcourse.metrics.speech``).
"""

from . import classification, retrieval, vqa
from .classification import accuracy, confusion_matrix, predict
from .retrieval import rank_summary, recall_at_k, retrieval_ranks

__all__ = ["accuracy", "classification", "confusion_matrix", "predict", "rank_summary", "recall_at_k",
           "retrieval", "retrieval_ranks", "vqa"]
