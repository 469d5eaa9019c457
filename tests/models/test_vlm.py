"""The from-scratch VLM against transformers' LLaVA, the chat template, the splice, VQA scoring."""

import pytest
import torch

from mmcourse import chat, zoo
from mmcourse.data import make_qa, make_shapes
from mmcourse.data.instructions import (
    IGNORE_INDEX,
    encode_conversation,
    encode_conversations,
    qa_conversations,
    shapes_chat_tokenizer,
)
from mmcourse.hub import tiny as hub_tiny
from mmcourse.models.qformer import QFormer
from mmcourse.models.vlm import (
    VLM,
    PatchFeatureTower,
    Projector,
    VLMConfig,
    from_llava,
    splice_image_features,
    tiny_llama,
    to_llava,
)


@pytest.fixture(scope="module")
def tok():
    return shapes_chat_tokenizer()


@pytest.fixture(scope="module")
def vlm(tok):
    torch.manual_seed(0)
    tower = PatchFeatureTower(zoo.load("clip-shapes").vision_model.cnn, merge=2)
    config = VLMConfig(vision_dim=tower.width, image_token_id=tok.convert_tokens_to_ids("<image>"))
    return VLM(config, tower, tiny_llama(tok, hidden_size=32, intermediate_size=64), tok).eval()


def _pil(images):
    from PIL import Image

    return [Image.fromarray((im.permute(1, 2, 0).numpy() * 255).round().astype("uint8")) for im in images]


def test_projector_has_llava15_size():
    # LLaVA-1.5 mlp2x_gelu: Linear(1024 -> 4096) + GELU + Linear(4096 -> 4096) (facts.md)
    assert sum(p.numel() for p in Projector(1024, 4096).parameters()) == 20_979_712


def test_tokenizer_template_matches_build_prompt(tok):
    msgs = [chat.user("what colour is the circle?"), chat.assistant("red"),
            chat.user("where is the red circle?", image=False)]
    for gen in (True, False):
        assert tok.apply_chat_template(msgs, tokenize=False, add_generation_prompt=gen) == chat.build_prompt(msgs, gen)
    assert "<unk>" not in tok.convert_ids_to_tokens(tok(chat.build_prompt(msgs)).input_ids)


def test_chat_errors_name_the_argument():
    with pytest.raises(ValueError, match="question"):
        chat.user("  ")
    with pytest.raises(ValueError, match="role"):
        chat.build_prompt([{"role": "system", "content": "hi"}])
    with pytest.raises(ValueError, match="messages"):
        chat.build_prompt([])


def test_labels_keep_only_the_assistant_words(tok):
    msgs = [chat.user("how many objects are there?"), chat.assistant("3")]
    ids, labels = encode_conversation(tok, msgs)
    assert ids == tok(chat.build_prompt(msgs), add_special_tokens=False).input_ids
    kept = [tok.convert_ids_to_tokens(i) for i in labels if i != IGNORE_INDEX]
    assert kept == ["3", "</s>"]


def test_splice_lengths_labels_and_errors():
    g = torch.Generator().manual_seed(0)
    ids = torch.tensor([[7, 4, 8, 9], [4, 7, 8, 9]])
    emb = torch.randn(2, 4, 6, generator=g)
    feats = torch.randn(2, 3, 6, generator=g)
    labels = torch.tensor([[7, 4, 8, 9], [4, 7, 8, 9]])
    e, lab, m = splice_image_features(emb, ids, feats, 4, labels)
    assert e.shape == (2, 6, 6) and m.sum() == 12
    assert torch.equal(e[0, 1:4], feats[0]) and torch.equal(e[1, :3], feats[1]) and torch.equal(e[0, 0], emb[0, 0])
    assert lab[0].tolist() == [7, IGNORE_INDEX, IGNORE_INDEX, IGNORE_INDEX, 8, 9]
    with pytest.raises(ValueError, match="no <image> token"):
        splice_image_features(emb, torch.tensor([[7, 8, 9, 9]] * 2), feats, 4)
    with pytest.raises(ValueError, match="3 image"):
        splice_image_features(emb, ids, torch.randn(3, 3, 6), 4)


def test_vlm_rejects_wrong_image_size_and_empty_question(vlm, tok):
    ids = tok([chat.build_prompt([chat.user("how many objects are there?")], True)], return_tensors="pt").input_ids
    with pytest.raises(ValueError, match=r"shape \(batch, 3, 32, 32\).*resize to 32x32"):
        vlm(ids, torch.rand(1, 3, 64, 64))
    with pytest.raises(ValueError, match=r"questions\[0\] is empty"):
        vlm.answer(torch.rand(1, 3, 32, 32), [""])
    with pytest.raises(ValueError, match="one question per image"):
        vlm.answer(torch.rand(2, 3, 32, 32), ["how many objects are there?"])


def test_from_scratch_splice_gives_the_llava_logits(vlm, tok):
    """Our VLM as a transformers LlavaForConditionalGeneration + LlavaProcessor: same logits."""
    data = make_shapes(3, objects=(1, 4), seed=5)
    qas = make_qa(data, seed=5)
    llava = to_llava(vlm)
    processor = chat.llava_processor(tok, patch_size=16)
    processor.tokenizer.padding_side = "left"
    msgs = [[chat.user(q.question)] for q in qas]
    texts = [processor.apply_chat_template(m, add_generation_prompt=True, tokenize=False) for m in msgs]
    enc = processor(images=_pil(data.images), text=texts, return_tensors="pt", padding=True)
    assert int((enc.input_ids == 4).sum()) == 3 * 4  # the processor expanded <image> to 4 tokens each
    ours_ids = tok(texts, return_tensors="pt", padding=True, padding_side="left")
    with torch.no_grad():
        ref = llava(**enc).logits
        ours = vlm(ours_ids.input_ids, enc.pixel_values, attention_mask=ours_ids.attention_mask).logits
    # left padding differs in length per row, so compare the last positions (the answer logits)
    assert torch.allclose(ref[:, -5:], ours[:, -5:], atol=1e-5)
    gen_ref = llava.generate(**enc, max_new_tokens=4, do_sample=False)[:, enc.input_ids.shape[1]:]
    gen_ours = vlm.generate(ours_ids.input_ids, enc.pixel_values, attention_mask=ours_ids.attention_mask,
                            max_new_tokens=4)
    n = min(gen_ref.shape[1], gen_ours.shape[1])
    assert torch.equal(gen_ref[:, :n], gen_ours[:, :n])


def test_library_llava_runs_inside_the_from_scratch_vlm():
    llava = hub_tiny.llava().eval()  # CLIP vision tower, "full" features (CLS + 16 patches)
    ours = from_llava(llava)
    ids = torch.tensor([[5, 6, 999, 7, 8]])
    expanded = torch.tensor([[5, 6] + [999] * 17 + [7, 8]])
    px = torch.rand(1, 3, 32, 32, generator=torch.Generator().manual_seed(0))
    with torch.no_grad():
        assert torch.allclose(llava(input_ids=expanded, pixel_values=px).logits, ours(ids, px).logits, atol=1e-5)


def test_kv_cache_gives_the_same_tokens(vlm, tok):
    data = make_shapes(4, objects=(1, 4), seed=6)
    qs = [q.question for q in make_qa(data, seed=6)]
    from mmcourse.data.instructions import generation_prompts

    ids, mask = generation_prompts(tok, qs)
    a = vlm.generate(ids, data.images, attention_mask=mask, max_new_tokens=6, use_cache=True)
    b = vlm.generate(ids, data.images, attention_mask=mask, max_new_tokens=6, use_cache=False)
    assert torch.equal(a, b)


def test_stages_freeze_the_right_parts(vlm):
    c1 = vlm.set_stage(1)
    assert c1["trainable"] == sum(p.numel() for p in vlm.multi_modal_projector.parameters())
    c2 = vlm.set_stage(2)
    assert c2["trainable"] == c1["trainable"] + sum(p.numel() for p in vlm.language_model.parameters())
    assert not any(p.requires_grad for p in vlm.vision_tower.parameters())
    vlm.train()
    assert not vlm.vision_tower.training  # BatchNorm statistics stay frozen
    vlm.eval()
    with pytest.raises(ValueError, match="stage"):
        vlm.set_stage(3)


def test_qformer_turns_any_number_of_patches_into_its_queries():
    q = QFormer(64, 32, num_queries=4)
    assert q(torch.randn(2, 16, 64)).shape == (2, 4, 32)
    assert q(torch.randn(2, 49, 64)).shape == (2, 4, 32)
    assert q.last_attention.shape == (2, 4, 49)
    with pytest.raises(ValueError, match="num_queries"):
        QFormer(64, 32, num_queries=0)


def test_instruction_sets_are_padded_and_masked(tok):
    data = make_shapes(6, objects=(1, 4), seed=7)
    s = encode_conversations(tok, qa_conversations(make_qa(data, seed=7)))
    assert s.input_ids.shape == s.labels.shape == s.attention_mask.shape
    assert ((s.labels != IGNORE_INDEX).sum(1) >= 2).all()  # answer word(s) + </s>
    assert (s.labels[s.attention_mask == 0] == IGNORE_INDEX).all()


def test_vilt_baseline_trains_and_answers_from_its_vocabulary(tok):
    from mmcourse.instruct import fit_vilt, vilt_answer
    from mmcourse.models.vilt import answer_vocabulary, tiny_vilt

    data = make_shapes(8, objects=(1, 4), seed=8)
    qas = make_qa(data, seed=8)
    vocab = answer_vocabulary([q.answer for q in qas])
    vilt = tiny_vilt(len(tok), len(vocab))
    h = fit_vilt(vilt, tok, data.images, [q.question for q in qas], [q.answer for q in qas],
                 torch.tensor([q.index for q in qas]), vocab, steps=3, batch_size=4, progress=False)
    assert h.steps == 3
    preds = vilt_answer(vilt, tok, data.images, [q.question for q in qas], vocab)
    assert len(preds) == len(qas) and set(preds) <= set(vocab)
    with pytest.raises(ValueError, match="not in vocabulary"):
        fit_vilt(vilt, tok, data.images, ["how many objects are there?"] * 8, ["7"] * 8, torch.arange(8),
                 vocab, steps=1, batch_size=4, progress=False)


def test_chat_reply_and_processor_kwargs(vlm, tok):
    from mmcourse import compat

    image = make_shapes(1, seed=9).images[0]
    reply = vlm.chat(image, [chat.user("how many objects are there?")])
    assert isinstance(reply, str)
    kw = compat.processor_call_kwargs(chat.llava_processor(tok, patch_size=16), padding=True)
    assert kw in ({"processor_kwargs": {"padding": True}}, {"padding": True})


def test_zoo_vlm_answers_in_one_call():
    model = zoo.load("vlm-shapes")
    scene = make_shapes(1, objects=3, seed=10)
    assert model.ask(scene.images[0], "how many objects are there?") == "3"
    with pytest.raises(ValueError, match="question"):
        model.ask(scene.images[0], "")
    with pytest.raises(ValueError, match="image"):
        model.ask(torch.rand(2, 3, 32, 32), "how many objects are there?")
