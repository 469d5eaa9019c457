"""CLIP from scratch vs transformers' CLIPModel; the contrastive loss; retrieval metrics
vs a brute-force reference."""

import pytest
import torch
import torch.nn.functional as F
import transformers

from mmcourse import metrics
from mmcourse.models.clip import CLIP, CLIPConfig, clip_loss, siglip_loss


def _hf_clip(vision_width, text_width, vision_layers, text_layers, image_size, patch, eos, proj, ctx=20):
    torch.manual_seed(0)
    return transformers.CLIPModel(transformers.CLIPConfig(
        text_config=dict(vocab_size=100, hidden_size=text_width, intermediate_size=4 * text_width,
                         num_hidden_layers=text_layers, num_attention_heads=2, max_position_embeddings=ctx,
                         bos_token_id=1, eos_token_id=eos, pad_token_id=0),
        vision_config=dict(hidden_size=vision_width, intermediate_size=4 * vision_width,
                           num_hidden_layers=vision_layers, num_attention_heads=4, image_size=image_size,
                           patch_size=patch),
        projection_dim=proj)).eval()


@pytest.mark.parametrize("shape", [(32, 32, 2, 2, 32, 8, 3, 16), (48, 24, 1, 3, 28, 7, 5, 12),
                                   (32, 32, 2, 2, 32, 8, 2, 16)], ids=["tiny", "odd-sizes", "legacy-eos"])
def test_from_hf_gives_the_same_normalised_embeddings(shape):
    hf = _hf_clip(*shape)
    ours = CLIP.from_hf(hf)
    image_size, eos = shape[4], shape[6]
    g = torch.Generator().manual_seed(1)
    images = torch.rand(4, 3, image_size, image_size, generator=g)
    ids = torch.randint(4, 90, (4, 12), generator=g)
    ids[:, 0] = 1
    end = 99 if eos == 2 else eos  # legacy pooling takes the highest id
    for row, pos in enumerate([3, 11, 6, 8]):
        ids[row, pos] = end
        ids[row, pos + 1:] = 0  # padding after the end token
    with torch.no_grad():
        want_img = F.normalize(hf.get_image_features(pixel_values=images).pooler_output, dim=-1)
        want_txt = F.normalize(hf.get_text_features(input_ids=ids).pooler_output, dim=-1)
        assert (ours.encode_image(images) - want_img).abs().max() <= 1e-5
        assert (ours.encode_text(ids) - want_txt).abs().max() <= 1e-5
        logits, _ = ours(images, ids)
        assert torch.allclose(logits, hf(pixel_values=images, input_ids=ids).logits_per_image, atol=1e-4)


def test_from_hf_rejects_other_models_and_activations():
    with pytest.raises(TypeError, match="transformers.CLIPModel"):
        CLIP.from_hf(torch.nn.Linear(2, 2))
    hf = transformers.CLIPModel(transformers.CLIPConfig(
        text_config=dict(vocab_size=50, hidden_size=16, intermediate_size=32, num_hidden_layers=1,
                         num_attention_heads=2, hidden_act="gelu", eos_token_id=3),
        vision_config=dict(hidden_size=16, intermediate_size=32, num_hidden_layers=1, num_attention_heads=2,
                           image_size=16, patch_size=8), projection_dim=8))
    with pytest.raises(ValueError, match="quick_gelu"):
        CLIP.from_hf(hf)


def test_clip_loss_is_symmetric_infonce():
    logits = torch.randn(6, 6)
    manual = (F.cross_entropy(logits, torch.arange(6)) + F.cross_entropy(logits.T, torch.arange(6))) / 2
    assert torch.allclose(clip_loss(logits), manual)
    assert clip_loss(torch.eye(6) * 100) < 1e-3  # perfect alignment
    with pytest.raises(ValueError, match="square"):
        clip_loss(torch.randn(3, 4))


def test_temperature_starts_at_0_07_and_is_clamped():
    model = CLIP(CLIPConfig())
    assert model.logit_scale.exp().item() == pytest.approx(1 / 0.07)
    with torch.no_grad():
        model.logit_scale.fill_(10.0)  # e^10 >> 100
    logits, _ = model(torch.rand(2, 3, 32, 32), torch.tensor([[1, 5, 3], [1, 6, 3]]))
    assert logits.abs().max() <= 100 + 1e-4


def test_clip_bad_input():
    model = CLIP(CLIPConfig())
    with pytest.raises(ValueError, match=r"shape \(batch, 3, 32, 32\)"):
        model.encode_image(torch.rand(2, 3, 16, 16))
    with pytest.raises(ValueError, match=r"shape \(batch, 3, 32, 32\)"):
        model.encode_image(torch.rand(2, 4, 32, 32))
    with pytest.raises(ValueError, match="context length is 16"):
        model.encode_text(torch.ones(1, 17, dtype=torch.long))
    with pytest.raises(TypeError, match="no tokenizer"):
        model.encode_text(["a red circle"])


def _brute_force_ranks(sim, relevant):
    ranks = []
    for q in range(sim.shape[0]):
        best = max(sim[q, g] for g in range(sim.shape[1]) if relevant[q, g])
        ranks.append(1 + sum(1 for g in range(sim.shape[1]) if not relevant[q, g] and sim[q, g] >= best))
    return torch.tensor(ranks)


def test_retrieval_ranks_match_brute_force_with_ties_and_multiple_relevant():
    g = torch.Generator().manual_seed(0)
    sim = torch.randint(0, 5, (30, 12), generator=g).float()  # many ties on purpose
    relevant = torch.rand(30, 12, generator=g) < 0.2
    relevant[torch.arange(30), torch.randint(0, 12, (30,), generator=g)] = True
    assert torch.equal(metrics.retrieval_ranks(sim, relevant), _brute_force_ranks(sim, relevant))
    single = torch.randint(0, 12, (30,), generator=g)
    one_hot = F.one_hot(single, 12).bool()
    assert torch.equal(metrics.retrieval_ranks(sim, single), _brute_force_ranks(sim, one_hot))


def test_ties_count_against_the_query_and_summary():
    flat = torch.zeros(4, 5)
    assert metrics.retrieval_ranks(flat, torch.arange(4)).tolist() == [5, 5, 5, 5]
    perfect = torch.eye(4)
    summary = metrics.rank_summary(perfect, torch.arange(4), ks=(1, 2))
    assert summary == {"R@1": 1.0, "R@2": 1.0, "mean rank": 1.0, "median rank": 1.0}
    with pytest.raises(ValueError, match="k=10 is larger than the gallery"):
        metrics.rank_summary(perfect, torch.arange(4), ks=(10,))
    with pytest.raises(ValueError, match="at least one relevant"):
        metrics.retrieval_ranks(perfect, torch.zeros(4, 4, dtype=torch.bool))


def test_cnn_tower_and_caption_batches():
    from mmcourse import text
    from mmcourse.models.clip import CNNTower

    tok = text.WordTokenizer.train(["a red circle", "a blue square on the left"], max_vocab=30)
    ids = text.encode_batch(tok, ["a red circle", "a blue square"], context_length=6)
    eos = tok.vocab[text.EOS]
    assert ids.shape == (2, 6) and ids[0].tolist() == [tok.vocab[text.BOS], *tok.encode("a red circle"), eos, 0]
    assert eos != 2  # CLIP treats eos id 2 as the legacy argmax pooling
    with pytest.raises(ValueError, match="context_length=3"):
        text.encode_batch(tok, ["a blue square on the left"], context_length=3)
    cut = text.encode_batch(tok, ["a blue square on the left"], context_length=4, truncate=True)
    assert cut[0, -1] == eos
    config = CLIPConfig(vision_width=64, vocab_size=tok.vocab_size, context_length=6, eos_token_id=eos)
    model = CLIP(config, vision_model=CNNTower((16, 32, 64)))
    logits, logits_t = model(torch.rand(2, 3, 32, 32), ids)
    assert logits.shape == (2, 2) and torch.equal(logits.T, logits_t)
    loss = clip_loss(logits)
    loss.backward()
    assert model.vision_model.cnn.body[0].weight.grad is not None


def test_hardest_negatives():
    from mmcourse.models.clip import hardest_negatives

    sim = torch.tensor([[0.9, 0.8, 0.1], [0.2, 0.95, 0.3], [0.7, 0.6, 0.99]])
    assert hardest_negatives(sim).tolist() == [1, 2, 0]
    with pytest.raises(ValueError, match="square"):
        hardest_negatives(torch.rand(2, 3))


def test_siglip_loss_equals_transformers_siglip_model_loss():
    torch.manual_seed(0)
    config = transformers.SiglipConfig(
        text_config=dict(vocab_size=100, hidden_size=32, intermediate_size=64, num_hidden_layers=1,
                         num_attention_heads=2, max_position_embeddings=16),
        vision_config=dict(hidden_size=32, intermediate_size=64, num_hidden_layers=1, num_attention_heads=2,
                           image_size=32, patch_size=8))
    model = transformers.SiglipModel(config).eval()
    with torch.no_grad():
        model.logit_bias.fill_(-3.0)
        out = model(input_ids=torch.randint(0, 100, (5, 7)), pixel_values=torch.rand(5, 3, 32, 32), return_loss=True)
    ours = siglip_loss(out.logits_per_image)
    assert torch.allclose(ours, out.loss, atol=1e-6), (ours, out.loss)


def test_sigmoid_clip_adds_the_learned_bias_to_its_logits():
    config = CLIPConfig(logit_scale_init=10.0, logit_bias_init=-10.0)
    model = CLIP(config)
    images, tokens = torch.rand(3, 3, 32, 32), torch.tensor([[1, 5, 3, 0]] * 3)
    logits, _ = model(images, tokens)
    cos = model.encode_image(images) @ model.encode_text(tokens).T
    assert torch.allclose(logits, 10 * cos - 10, atol=1e-5)
    assert "logit_bias" not in dict(CLIP(CLIPConfig()).named_parameters())
