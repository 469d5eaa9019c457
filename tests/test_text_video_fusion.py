"""Tokenizers, video sampling and clips, the matching data and the three fusion models."""

import pytest
import torch

from mmcourse import text, video
from mmcourse.data import clips, matching
from mmcourse.models.fusion import (
    FusionClassifier,
    FusionConfig,
    matching_loss,
    score_all_pairs,
    similarity_matrix,
)
from mmcourse.train import fit

CORPUS = ["a red circle on the left", "a blue square", "the cat sat on the mat.", "an orange cross"] * 20


def test_tokenizers_trade_offs():
    char = text.CharTokenizer.train(CORPUS)
    word = text.WordTokenizer.train(CORPUS, max_vocab=50)
    bpe = text.BPETokenizer.train(CORPUS, vocab_size=320)
    unseen = "a green zebra"
    assert text.UNK not in char.tokenize("a red cat") and char.tokenize("z!")[0] == text.UNK
    assert word.tokenize(unseen) == ["a", text.UNK, text.UNK]
    assert text.UNK not in bpe.tokenize(unseen) and bpe.decode(bpe.encode(unseen)) == unseen
    rows = {r["tokenizer"]: r for r in text.compare({"c": char, "w": word, "b": bpe}, [unseen, "a red circle"])}
    assert rows["w"]["unknown tokens"] > 0 and rows["b"]["unknown tokens"] == 0
    assert rows["c"]["tokens per sentence"] > rows["b"]["tokens per sentence"] >= rows["w"]["tokens per sentence"]


def test_packaged_documents_and_sentences():
    docs = text.packaged_documents()
    assert len(docs) >= 10 and sum(len(d) for d in docs.values()) > 30_000
    s = text.sentences("Title\n=====\n\nThis is one sentence. And here is another one! Short.")
    assert s == ["This is one sentence.", "And here is another one!"]


def test_tokenizer_bad_input():
    with pytest.raises(ValueError, match="texts must be a non-empty list of non-empty strings"):
        text.CharTokenizer.train([])
    with pytest.raises(ValueError, match="vocab_size must be an int >= 300"):
        text.BPETokenizer.train(CORPUS, vocab_size=10)


def test_sampling_strategies():
    assert video.sample_uniform(24, 8) == [1, 4, 7, 10, 13, 16, 19, 22]
    assert video.sample_segments(24, 8, train=False) == [1, 4, 7, 10, 13, 16, 19, 22]
    for seed in range(5):
        idx = video.sample_segments(24, 8, seed=seed)
        assert all(3 * j <= i < 3 * (j + 1) for j, i in enumerate(idx))
        r = video.sample_random(24, 8, seed=seed)
        assert r == sorted(set(r)) and len(r) == 8
    assert video.sample_uniform(5, 5) == [0, 1, 2, 3, 4]


@pytest.mark.parametrize("call, match", [
    (lambda: video.sample_uniform(0, 1), "num_frames must be a positive int"),
    (lambda: video.sample_segments(4, 5), "cannot sample k=5 distinct frames from a clip of num_frames=4"),
    (lambda: video.sample_random(10, 0), "k must be a positive int"),
    (lambda: video.check_clip(torch.rand(0, 3, 8, 8)), "clip is empty"),
    (lambda: video.check_clip(torch.rand(3, 8, 8)), r"shape \(frames, channels, height, width\)"),
    (lambda: video.check_clip(torch.rand(2, 4, 8, 8)), "1 or 3 channels"),
    (lambda: video.video_tokens(15, 224, 224, 16, tubelet=2), "tubelet=2 must divide frames=15"),
    (lambda: video.TubeletEmbed(8, 2)(torch.rand(16, 3, 32, 32)), "batch, frames"),
])
def test_bad_video_input(call, match):
    with pytest.raises(ValueError, match=match):
        call()


def test_tubelets_and_costs():
    emb = video.TubeletEmbed(patch_size=8, tubelet=2, dim=16)
    assert emb(torch.rand(2, 8, 3, 32, 32)).shape == (2, 4 * 4 * 4, 16)
    assert video.video_tokens(16, 224, 224, 16, 2) == 1568
    assert video.clip_bytes(1, 2, 2, dtype=torch.float32) == 48


def test_clips():
    c = clips.moving_shape(frames=8, color="blue", start=(0.2, 0.5), end=(0.8, 0.5), noise=0.0)
    assert c.shape == (8, 3, 32, 32) and video.check_clip(c) == (8, 3, 32, 32)
    blue_x = [c[t, 2].max(0).values.argmax().item() for t in (0, 7)]
    assert blue_x[1] > blue_x[0] + 10  # it moves right
    assert torch.equal(c[0, :, 0, 0], c[7, :, 0, 0])  # one background for the whole clip
    gif = clips.skimage_gif()
    assert gif.shape == (24, 3, 25, 14) and 0 <= gif.min() and gif.max() <= 1
    with pytest.raises(ValueError, match="color must be one of .*got str 'pink'"):
        clips.moving_shape(color="pink")


def test_matching_data_is_balanced_and_correct():
    d = matching.make_matching(600, seed=0)
    assert len(d) == 600 and d.tokens.shape == (600, matching.MAX_LEN)
    assert 0.4 < d.labels.mean() < 0.6
    assert {k for k in d.kinds} == {"match", *matching.NEGATIVE_KINDS}
    for i in range(50):
        right = d.kinds[i] == "match"
        assert bool(d.labels[i]) == right
    with pytest.raises(ValueError, match="outside the matching vocabulary"):
        matching.encode_caption("a pink circle")
    with pytest.raises(ValueError, match="n must be a positive int"):
        matching.make_matching(0)


@pytest.mark.parametrize("fusion", ["early", "mid", "late"])
def test_fusion_models_run_train_and_score_all_pairs(fusion, cfg):
    torch.manual_seed(0)
    d = matching.make_matching(256, seed=1)
    model = FusionClassifier(FusionConfig(fusion=fusion, vocab_size=len(matching.WORDS), dim=32, depth=1))
    assert model(d.images[:4], d.tokens[:4]).shape == (4,)
    h = fit(model, [(d.images[:64], d.tokens[:64], d.labels[:64])] * 40, loss_fn=matching_loss, steps=40,
            lr=3e-3, cfg=cfg, progress=False)
    assert h.final_loss < h.loss[0]  # it can fit a batch
    scores = score_all_pairs(model, d.images[:6], d.tokens[:5])
    direct = torch.stack([model(d.images[i:i + 1], d.tokens[j:j + 1])[0] for i in range(6) for j in range(5)])
    assert torch.allclose(scores.flatten(), direct, atol=1e-4)


def test_similarity_matrix_and_late_only_encoders():
    a, b = torch.randn(4, 8), torch.randn(3, 8)
    s = similarity_matrix(a, b)
    assert torch.allclose(s[1, 2], torch.nn.functional.cosine_similarity(a[1], b[2], dim=0), atol=1e-6)
    with pytest.raises(ValueError, match="same D"):
        similarity_matrix(a, torch.randn(3, 7))
    with pytest.raises(ValueError, match="only late fusion"):
        FusionClassifier(FusionConfig(fusion="early")).encode_image(torch.rand(1, 3, 32, 32))
    with pytest.raises(ValueError, match="fusion='sideways'"):
        FusionConfig(fusion="sideways")


def test_frozen_pretrained_body_stays_frozen(cfg):
    from mmcourse import zoo

    body = zoo.load("shapes-cnn").body
    before = [p.clone() for p in body.parameters()]
    model = FusionClassifier(FusionConfig(fusion="late", vocab_size=len(matching.WORDS)), image_body=body)
    model.train()
    assert not body.training  # BatchNorm statistics are not updated
    d = matching.make_matching(64, seed=2)
    fit(model, [(d.images, d.tokens, d.labels)] * 3, loss_fn=matching_loss, steps=3, cfg=cfg, progress=False)
    assert all(torch.equal(a, b) for a, b in zip(before, body.parameters()))
