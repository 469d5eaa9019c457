"""Every wrong answer a review of the checks found passing (issue 31) now fails, most with a hint
that names the mistake (the hints are asserted in test_checks.py); the right answers written
another way still pass."""

import pytest

from mmcourse import checks
from tests.checks import wrong_answers_a, wrong_answers_b, wrong_answers_c

MODULES = (wrong_answers_a, wrong_answers_b, wrong_answers_c)
WRONG = [(name, why, fn) for m in MODULES for kind in ("CANDIDATES", "MISLEADING", "LIARS", "UNCERTAIN")
         for name, why, fn, *_ in getattr(m, kind, [])]
RIGHT = [(name, why, fn) for m in MODULES for name, why, fn in getattr(m, "RIGHT_ANSWERS", [])]


@pytest.mark.filterwarnings("ignore::UserWarning")  # the wrong answers' own warnings
@pytest.mark.parametrize("name, why, fn", WRONG, ids=[f"{n}-{i}" for i, (n, _, _) in enumerate(WRONG)])
def test_a_wrong_answer_fails(name, why, fn):
    result = checks.run(name, fn)
    assert not result.passed, f"{name} passes a wrong answer: {why}"
    assert result.error == "AssertionError" or result.message.startswith("your code raised"), result


@pytest.mark.parametrize("name, why, fn", RIGHT, ids=[n for n, _, _ in RIGHT])
def test_a_right_answer_passes(name, why, fn):
    result = checks.run(name, fn)
    assert result.passed, f"{name} rejects a right answer ({why}): {result.message}"


def test_the_review_covered_every_check():
    reviewed = {name for name, _, _ in WRONG + RIGHT}
    assert len(WRONG) >= 60 and len(reviewed) >= 25, (len(WRONG), sorted(set(checks.available()) - reviewed))


a, b, c = wrong_answers_a, wrong_answers_b, wrong_answers_c
#: (check, wrong answer, what the message must say): the hint names the mistake, not just "wrong".
HINTS = [
    ("metrics.confusion_matrix", a.cm_float_counts, "counts are whole numbers"),
    ("metrics.confusion_matrix", a.cm_infer_num_classes, "size the matrix by num_classes"),
    ("train.count_parameters", a.cp_default_true, "the default is trainable_only=False"),
    ("train.count_parameters", a.cp_leaf_modules_only, "hold parameters of its own"),
    ("train.count_parameters", a.cp_tied_counted_twice, "counted once"),
    ("train.train_step", a.ts_eval_mode, "eval mode"),
    ("train.train_step", a.ts_grad_clipping, "clipped the gradient norm"),
    ("train.train_step", a.ts_manual_sgd, "updated the weights by hand"),
    ("video.sample_segments", a.ss_float_middles, "return Python ints"),
    ("fusion.similarity_matrix", a.sm_normalise_in_place, "changed its inputs in place"),
    ("clip.info_nce", a.nce_no_grad, "carries no gradient"),
    ("clip.hardest_negatives", a.hn_fill_minus_one, "fill it with -inf"),
    ("clip.hardest_negatives", a.hn_float_indices, "integers"),
    ("vlm.projector", b.ProjectorFrozen, "do not require grad"),
    ("vlm.projector", b.ProjectorNoGrad, "carries no gradient"),
    ("vlm.splice", b.splice_float_labels, "torch.long"),
    ("vlm.splice", b.splice_hardcoded_image_id, "input_ids == image_token_id"),
    ("vlm.splice", b.splice_via_numpy, "not NumPy"),
    ("vlm.chat_prompt", b.prompt_pops_image_item, "changed its inputs in place"),
    ("video.count_tokens", b.count_tokens_width_only, "should raise ValueError"),
    ("speech.wer", b.wer_split_on_single_space, "split on any whitespace"),
    ("audio.spec_mask", b.mask_returns_input_when_nothing_masked, "returned its input itself"),
    ("diffusion.add_noise", b.add_noise_float64, "to x0's dtype"),
    ("vae.sample_kl", b.sample_and_kl_kl_without_graph, "must carry gradients"),
    ("vq.quantise", c._vq_codebook_gets_decoder_grad, "reached the codebook"),
    ("vq.quantise", c._vq_float_codes, "integers"),
    ("vq.quantise", c._vq_dot_product, "largest dot product"),
    ("unified.image_ids", c._image_ids_ignores_text_size, "<boi> = text_size"),
    ("unified.modality_mask", c._mask_hardcoded_specials, "vocab.pad"),
    ("unified.modality_mask", c._mask_full_only_at_exactly_n, "past a full image"),
    ("unified.caption_labels", c._caption_tensor_elements, "ids are Python ints"),
    ("eval.bleu", c._bleu_ties_to_longer, "on a tie"),
    ("eval.bleu", c._bleu_percent, "percentage"),
    ("eval.bleu", c._bleu_bp_always, "applies only to candidates shorter"),
    ("eval.bleu", c._bleu_arithmetic_mean, "geometrically"),
    ("eval.vqa_accuracy", c._vqa_substring, "equals the prediction"),
    ("eval.cider_tfidf", c._tfidf_default_one, "document frequency 0"),
    ("eval.cider_tfidf", c._tfidf_length_normalised, "do not divide tf"),
    ("eval.bootstrap_ci", c._boot_global_rng, "same seed gave two different intervals"),
    ("eval.bootstrap_ci", c._boot_ignores_resamples, "10 and 1000 resamples"),
    ("eval.bootstrap_ci", c._boot_inclusive_high, "last example was never drawn"),
    ("eval.bootstrap_ci", c._boot_basic, "basic bootstrap"),
]


@pytest.mark.filterwarnings("ignore::UserWarning")  # the wrong answers' own warnings (float() of a tensor)
@pytest.mark.parametrize("name, fn, hint", HINTS, ids=[f"{n}-{getattr(f, '__name__', '')}" for n, f, _ in HINTS])
def test_the_hint_names_the_mistake(name, fn, hint):
    result = checks.run(name, fn)
    assert not result.passed and hint in result.message, result.message
