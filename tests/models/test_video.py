"""Chapter 04's video models: the divided space-time block equals transformers'
``TimesformerLayer``, the tubelet embedding equals ``VideoMAEModel``'s, and every variant
sees (or, for the single-frame model, cannot see) the order of frames."""

import pytest
import torch
import transformers

from mmcourse.models.video import (
    ATTENTIONS,
    DividedBlock,
    VideoClassifier,
    VideoConfig,
    attention_flops,
    attention_pairs,
)
from mmcourse.video import TubeletEmbed


def _copy_attention(ours, theirs):
    ours.qkv.load_state_dict(theirs.attention.qkv.state_dict())
    ours.proj.load_state_dict(theirs.output.dense.state_dict())


def test_divided_block_equals_timesformer_layer():
    torch.manual_seed(0)
    T, side, D = 4, 3, 32  # 4 frames of 3x3 patches
    config = transformers.TimesformerConfig(image_size=side * 4, patch_size=4, num_frames=T, hidden_size=D,
                                            num_hidden_layers=1, num_attention_heads=4, intermediate_size=4 * D,
                                            attention_type="divided_space_time", layer_norm_eps=1e-5,
                                            hidden_act="gelu")
    layer = transformers.models.timesformer.modeling_timesformer.TimesformerLayer(config, 0).eval()
    ours = DividedBlock(D, 4, mlp_ratio=4.0).eval()
    _copy_attention(ours.temporal_attn, layer.temporal_attention)
    _copy_attention(ours.attn, layer.attention)
    ours.temporal_norm.load_state_dict(layer.temporal_layernorm.state_dict())
    ours.temporal_proj.load_state_dict(layer.temporal_dense.state_dict())
    ours.ln1.load_state_dict(layer.layernorm_before.state_dict())
    ours.ln2.load_state_dict(layer.layernorm_after.state_dict())
    ours.mlp[0].load_state_dict(layer.intermediate.dense.state_dict())
    ours.mlp[3].load_state_dict(layer.output.dense.state_dict())

    B, N = 2, side * side
    x, cls = torch.randn(B, T, N, D), torch.randn(B, 1, D)
    # TimeSformer orders tokens patch-major (all frames of patch 0, then patch 1, ...) after CLS.
    hf_in = torch.cat([cls, x.transpose(1, 2).reshape(B, N * T, D)], dim=1)
    with torch.no_grad():
        hf_out = layer(hf_in)[0]
        out, out_cls, _ = ours(x, cls)
    ours_flat = torch.cat([out_cls, out.transpose(1, 2).reshape(B, N * T, D)], dim=1)
    assert torch.allclose(ours_flat, hf_out, atol=1e-5), f"max difference {(ours_flat - hf_out).abs().max():.2e}"


def test_tubelet_embedding_equals_videomae():
    torch.manual_seed(0)
    config = transformers.VideoMAEConfig(image_size=16, patch_size=4, num_frames=8, tubelet_size=2, hidden_size=32,
                                         num_hidden_layers=1, num_attention_heads=4, intermediate_size=64)
    hf = transformers.VideoMAEModel(config).eval()
    ours = TubeletEmbed(patch_size=4, tubelet=2, in_channels=3, dim=32)
    ours.proj.load_state_dict(hf.embeddings.patch_embeddings.projection.state_dict())
    video = torch.rand(2, 8, 3, 16, 16)
    with torch.no_grad():
        theirs = hf.embeddings.patch_embeddings(video)
        mine = ours(video)
    assert mine.shape == theirs.shape == (2, 4 * 4 * 4, 32)
    assert torch.allclose(mine, theirs, atol=1e-6)


@pytest.mark.parametrize("attention", ATTENTIONS)
def test_variants_shapes_and_order_sensitivity(attention):
    torch.manual_seed(0)
    model = VideoClassifier(VideoConfig(attention=attention, dim=32, heads=4, num_classes=4)).eval()
    video = torch.rand(3, 8, 3, 16, 16)
    with torch.no_grad():
        logits = model(video)
        reversed_logits = model(video.flip(1))
        frames, weights = model.frame_features(video)
    assert logits.shape == (3, 4) and frames.shape == (3, 8, 32)
    same = torch.allclose(logits, reversed_logits, atol=1e-5)
    assert same == (attention == "frame"), f"{attention}: only the single-frame model ignores frame order"
    if attention in ("late", "divided"):
        assert weights.shape == (3, 8)


def test_attention_cost_formulas():
    T, N = 8, 16
    assert attention_pairs("joint", T, N) == (T * N) ** 2
    assert attention_pairs("divided", T, N) == T * N * (T + N)
    assert attention_pairs("frame", T, N) == T * N * N
    assert attention_pairs("late", T, N) == T * N * N + T * T
    assert attention_flops("joint", 32, N, 64) / attention_flops("divided", 32, N, 64) == pytest.approx(
        32 * 16 / (32 + 16))


@pytest.mark.parametrize("bad, message", [
    (torch.rand(8, 3, 16, 16), "shape"),  # one clip without the batch axis
    (torch.rand(2, 8, 1, 16, 16), "shape"),  # wrong channel count
    (torch.rand(2, 4, 3, 16, 16), "shape"),  # fewer frames than the model takes
])
def test_bad_clips_name_the_argument(bad, message):
    model = VideoClassifier(VideoConfig(dim=32))
    with pytest.raises(ValueError, match="video must have shape"):
        model(bad)


def test_config_validates():
    with pytest.raises(ValueError, match="attention"):
        VideoConfig(attention="axial")
    with pytest.raises(ValueError, match="tubelet"):
        VideoConfig(frames=8, tubelet=3)
