"""The unified decoder's vocabulary, sequences and constrained sampling."""

import pytest
import torch

from mmcourse import sampling, sequences, unified
from mmcourse.data import make_shapes
from mmcourse.models.unified import UnifiedConfig, build_unified
from mmcourse.tokens import MultimodalVocabulary, unified_text_tokenizer


@pytest.fixture(scope="module")
def vocab():
    return MultimodalVocabulary(unified_text_tokenizer(), codebook_size=16, tokens_per_image=4)


@pytest.fixture(scope="module")
def model(vocab):
    torch.manual_seed(0)
    return build_unified(UnifiedConfig(vocab_size=len(vocab), hidden_size=16, num_hidden_layers=1,
                                       num_attention_heads=2, intermediate_size=32, max_position_embeddings=40,
                                       pad_token_id=vocab.pad, bos_token_id=vocab.bos, eos_token_id=vocab.eos))


def test_layout_puts_image_codes_after_text_and_specials(vocab):
    r = vocab.ranges()
    assert r["text"][1] == r["special"][0] and r["special"][1] == r["image"][0], f"contiguous ranges: {r}"
    assert r["image"] == (len(vocab) - 16, len(vocab)), f"16 codes at the end: {r}"


def test_interleaved_document_round_trips(vocab):
    a, b = torch.tensor([[0, 15], [3, 7]]), torch.tensor([[1, 1], [2, 2]])
    doc = ["draw : a red circle", a, "what colour is the circle?", b, "red"]
    back = vocab.decode(vocab.encode(doc))
    assert [x if isinstance(x, str) else x.tolist() for x in back] == [
        x if isinstance(x, str) else x.tolist() for x in doc], f"round trip changed the document: {back}"


def test_decode_refuses_broken_layouts(vocab):
    codes = vocab.encode_image(torch.zeros(2, 2, dtype=torch.long))  # <boi> 4 codes <eoi>
    with pytest.raises(ValueError, match="text id inside an image span"):
        vocab.decode(codes[:2] + [5] + codes[2:])
    with pytest.raises(ValueError, match="holds 3 codes"):
        vocab.decode(codes[:1] + codes[2:])
    with pytest.raises(ValueError, match="no <eoi>"):
        vocab.decode(codes[:-1])
    with pytest.raises(ValueError, match="outside any"):
        vocab.decode([vocab.image_offset])
    with pytest.raises(ValueError, match=r"ids must be ints in \[0"):
        vocab.decode([len(vocab)])


def test_encode_refuses_bad_segments(vocab):
    with pytest.raises(ValueError, match=r"document\[0\]: image codes must lie in"):
        vocab.encode([torch.tensor([[0, 16], [1, 2]])])
    with pytest.raises(ValueError, match=r"document\[0\] must hold 4 image codes"):
        vocab.encode([torch.zeros(3, 3, dtype=torch.long)])
    with pytest.raises(TypeError, match="unknown modality"):
        vocab.encode([[1, 2, 3]])


def test_modality_mask_follows_the_state(vocab):
    mask = sampling.modality_mask(vocab, torch.tensor([-1, 0, 3, 4]))
    codes = torch.arange(len(vocab)) >= vocab.image_offset
    assert not mask[0][codes].any() and mask[0][vocab.boi], "outside an image: text and <boi>, no codes"
    assert mask[1][codes].all() and mask[1].sum() == 16, "inside an image: codes only"
    assert mask[2].sum() == 16, "one code still to go: codes only"
    assert mask[3].sum() == 1 and mask[3][vocab.eoi], "image full: only <eoi>"


def test_labels_mask_the_prompt(vocab):
    codes = torch.tensor([[1, 2], [3, 4]])
    ids, labels = sequences.task_example(vocab, "draw", codes, "a red circle")
    start = ids.index(vocab.boi) + 1
    assert all(y == -100 for y in labels[:start]), "the caption and <boi> are prompt, not learned"
    assert labels[start:] == ids[start:], "the codes, <eoi> and </s> are learned"


def test_generate_with_cache_equals_generate_without(vocab, model):
    prompt = sequences.draw_prompt(vocab, "a red circle")
    short = sequences.draw_prompt(vocab, "")
    fast = sampling.generate(model, vocab, [prompt, short], max_new_tokens=5)
    for p, new in zip([prompt, short], fast):
        ids = list(p)
        for _ in range(len(new)):
            with torch.no_grad():
                logits = model(torch.tensor([ids])).logits[0, -1]
            state = sampling._codes_state(vocab, [ids])
            logits = logits.masked_fill(~sampling.modality_mask(vocab, state)[0], float("-inf"))
            ids.append(int(logits.argmax()))
        assert ids[len(p):] == new, "KV-cached, left-padded decoding should equal full recomputation"


def test_constrained_image_is_exactly_one_image(vocab, model):
    new = sampling.generate(model, vocab, [sequences.draw_prompt(vocab, "a red circle")] * 3, max_new_tokens=6,
                            temperature=1.0, seed=1)
    for ids in new:
        assert all(i >= vocab.image_offset for i in ids[:4]), f"4 codes first: {ids}"
        assert ids[4] == vocab.eoi, f"then <eoi>: {ids}"


def test_guided_logits_extrapolate():
    cond, uncond = torch.tensor([[2.0, 0.0]]), torch.tensor([[1.0, 0.0]])
    assert torch.equal(sampling.guided_logits(cond, uncond, 0.0), cond), "w = 0 is the conditional model"
    assert torch.equal(sampling.guided_logits(cond, uncond, 2.0), torch.tensor([[4.0, 0.0]])), "l_c + w (l_c - l_u)"


def test_top_k_keeps_only_the_k_best():
    logits = torch.tensor([[0.0, 5.0, 4.0, -1.0]]).repeat(200, 1)
    picks = sampling.next_token(logits, temperature=10.0, top_k=2, generator=torch.Generator().manual_seed(0))
    assert set(picks.tolist()) == {1, 2}, f"only the two largest logits can be drawn: {set(picks.tolist())}"


def test_task_mix_batches(vocab):
    scenes = make_shapes(6, seed=0)
    data = sequences.unified_data(scenes, torch.randint(0, 16, (6, 2, 2)))
    ids, mask, labels = sequences.TaskMix(vocab, data, {"draw": 1, "caption": 1, "vqa": 1}, batch_size=5)()
    assert ids.shape == mask.shape == labels.shape and ids.shape[0] == 5, f"(B, L) each: {tuple(ids.shape)}"
    assert (labels[mask == 0] == -100).all(), "padding is never learned"


def test_bad_inputs_name_the_argument(vocab, model):
    prompt = [sequences.draw_prompt(vocab, "a red circle")]
    with pytest.raises(ValueError, match="temperature"):
        sampling.generate(model, vocab, prompt, max_new_tokens=2, temperature=0.0)
    with pytest.raises(ValueError, match="top_k"):
        sampling.generate(model, vocab, prompt, max_new_tokens=2, temperature=1.0, top_k=0)
    with pytest.raises(ValueError, match="context"):
        sampling.generate(model, vocab, prompt, max_new_tokens=40)
    with pytest.raises(ValueError, match="uncond_prompts"):
        sampling.generate(model, vocab, prompt, max_new_tokens=2, guidance=1.0)
    with pytest.raises(ValueError, match="task must be one of"):
        sequences.task_example(vocab, "sing", torch.zeros(2, 2, dtype=torch.long))
    with pytest.raises(ValueError, match="weights"):
        sequences.TaskMix(vocab, sequences.unified_data(make_shapes(2), torch.zeros(2, 2, 2, dtype=torch.long)),
                        {"paint": 1.0})


def test_names_exactly_wants_the_objects_and_nothing_else():
    truth = [("red", "circle")]
    assert unified.names_exactly("a large red circle on the left", truth), "size and position words are fine"
    assert not unified.names_exactly("a red circle and a blue square", truth), "an extra object is wrong"
    assert not unified.names_exactly("a red square", truth), "the wrong shape is wrong"
    assert not unified.names_exactly("a red blue circle", truth), "a stray colour word is wrong"


def test_plausible_keeps_ids_near_the_best():
    cond = torch.log(torch.tensor([[0.5, 0.3, 0.15, 0.05]]))
    assert sampling.plausible(cond, 0.25).tolist() == [[True, True, True, False]], "p >= 0.25 * 0.5 is kept"
    assert sampling.plausible(cond, 1.0).tolist() == [[True, False, False, False]], "alpha = 1 keeps the best only"


def test_plausibility_stops_guidance_from_lifting_implausible_ids(vocab, model):
    prompt, uncond = [sequences.draw_prompt(vocab, "a red circle")], [sequences.draw_prompt(vocab, "")]
    new = sampling.generate(model, vocab, prompt * 2, uncond_prompts=uncond * 2, max_new_tokens=5, guidance=50.0,
                            plausibility=1.0, seed=0)
    greedy = sampling.generate(model, vocab, prompt, max_new_tokens=5)
    assert new[0] == greedy[0], "with alpha = 1 only the conditional favourite survives, whatever the guidance"
