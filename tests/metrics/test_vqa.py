"""VQA scoring: the official normalisation and leave-one-out accuracy, caption objects, POPE."""

import pytest

from mmcourse.data import make_pope, make_shapes
from mmcourse.metrics import vqa


def test_vqa_normalisation_follows_the_official_script():
    assert vqa.normalize_answer("Two.") == "2"
    assert vqa.normalize_answer("The Red!") == "red"
    assert vqa.normalize_answer("2.5") == "2.5"
    assert vqa.normalize_answer("top-left") == "top left"
    assert vqa.exact_match(["an orange", "Yes"], ["orange", "yes"]) == 1.0


def test_vqa_accuracy_leave_one_out():
    # 3 of 10 humans agree: 3 subsets of 9 hold 2 matches (2/3), 7 hold 3 (1): (3*2/3 + 7)/10 = 0.9
    assert vqa.vqa_accuracy("red", ["red"] * 3 + ["blue"] * 7) == pytest.approx(0.9)
    assert vqa.vqa_accuracy("red", ["red"] * 4 + ["blue"] * 6) == pytest.approx(1.0)
    assert vqa.vqa_accuracy("red", ["red"] + ["blue"] * 9) == pytest.approx(0.3)
    assert vqa.vqa_accuracy("green", ["red"] * 10) == 0.0


def test_caption_object_accuracy_ignores_wording():
    assert vqa.caption_object_accuracy(["a picture with a red circle and a blue cross"],
                                       ["two objects: a blue cross and a red circle"]) == 1.0
    assert vqa.caption_object_accuracy(["a red circle"], ["a red square"]) == 0.0


def test_pope_scores_count_yes_as_the_positive_class():
    answers = ["yes", "yes", "no", "no"]
    scores = vqa.pope_scores(["yes", "no", "yes", "no"], answers)
    assert scores == {"accuracy": 0.5, "precision": 0.5, "recall": 0.5, "f1": 0.5, "yes ratio": 0.5}
    always_yes = vqa.pope_scores(["Yes."] * 4, answers)
    assert always_yes["recall"] == 1.0 and always_yes["precision"] == 0.5 and always_yes["yes ratio"] == 1.0
    with pytest.raises(ValueError, match="must be 'yes' or 'no'"):
        vqa.pope_scores(["yes"], ["red"])
    with pytest.raises(ValueError, match="same length"):
        vqa.pope_scores(["yes"], ["yes", "no"])


@pytest.mark.parametrize("negatives", ["random", "adversarial"])
def test_pope_probes_ask_about_one_present_and_one_absent_object(negatives):
    scenes = make_shapes(50, objects=(1, 4), seed=3)
    probes = make_pope(scenes, negatives=negatives, seed=3)
    assert len(probes) == 100 and [q.answer for q in probes[:2]] == ["yes", "no"]
    for q in probes:
        names = {o.name for o in scenes.objects(q.index)}
        asked = q.question.removesuffix("?").split(" ", 3)[3]  # "is there a(n) <colour> <shape>?"
        assert (asked in names) == (q.answer == "yes"), (q, names)
        if negatives == "adversarial" and q.answer == "no":
            color, shape = asked.split()
            assert any(o.color == color or o.shape == shape for o in scenes.objects(q.index)), (q, names)
