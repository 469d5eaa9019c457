"""Patches and the ViT: the conv-patchify identity, round trips, bad input."""

import pytest
import torch

from mmcourse import patches
from mmcourse.models import ViT, ViTConfig
from mmcourse.models.vit import PatchEmbed, sincos_2d


@pytest.mark.parametrize("B, C, H, W, P", [(2, 3, 32, 32, 8), (1, 1, 12, 20, 4), (3, 3, 224, 224, 16)])
def test_strided_conv_equals_patchify_plus_linear(B, C, H, W, P):
    torch.manual_seed(0)
    x = torch.rand(B, C, H, W)
    embed = PatchEmbed(P, C, 24)
    linear = patches.patchify(x, P) @ embed.proj.weight.flatten(1).T + embed.proj.bias
    assert torch.allclose(embed(x), linear, atol=1e-5)


def test_patch_norm_embedding_uses_the_same_weights_as_a_linear_map():
    torch.manual_seed(0)
    x = torch.rand(2, 3, 16, 16)
    embed = PatchEmbed(8, 3, 12, norm=True)
    p = torch.nn.functional.layer_norm(patches.patchify(x, 8), (192,), embed.norm_in.weight, embed.norm_in.bias)
    want = embed.norm_out(p @ embed.proj.weight.flatten(1).T + embed.proj.bias)
    assert torch.allclose(embed(x), want, atol=1e-5)


def test_patchify_layout_and_round_trip():
    x = torch.arange(2 * 3 * 4 * 6, dtype=torch.float32).reshape(2, 3, 4, 6)
    p = patches.patchify(x, 2)
    assert p.shape == (2, 6, 12)
    assert p[0, 1].tolist() == x[0, :, 0:2, 2:4].flatten().tolist()  # second patch: top row, columns 2-3
    assert torch.equal(patches.unpatchify(p, 2, 4, 6, 3), x)
    assert patches.num_patches(224, 224, 16) == 196


@pytest.mark.parametrize("x, P, error, match", [
    (torch.rand(3, 32, 32), 8, ValueError, r"one image: add the batch dimension"),
    (torch.rand(2, 5, 32, 32), 8, ValueError, r"shape \(batch, 1 or 3, height, width\)"),
    (torch.rand(1, 3, 30, 32), 8, ValueError, "patch_size=8 does not divide the image size 30x32"),
    (torch.rand(1, 3, 32, 32), 0, ValueError, "patch_size must be a positive int"),
    ([[1.0]], 8, TypeError, "images must be a float tensor"),
])
def test_bad_images_and_patch_sizes(x, P, error, match):
    with pytest.raises(error, match=match):
        patches.patchify(x, P)


def test_unpatchify_rejects_mismatched_shapes():
    with pytest.raises(ValueError, match="do not tile"):
        patches.unpatchify(torch.rand(1, 5, 48), 4, 8, 8)


@pytest.mark.parametrize("kw", [{}, {"pool": "mean", "patch_norm": True}, {"pos": "sincos", "ln_pre": True}])
def test_vit_shapes_and_attention(kw):
    vit = ViT(ViTConfig(image_size=32, patch_size=8, dim=32, depth=2, heads=4, num_classes=5, **kw))
    x = torch.rand(3, 3, 32, 32)
    assert vit(x).shape == (3, 5) and vit.features(x).shape == (3, 32)
    tokens, weights = vit.forward_features(x, return_weights=True)
    assert tokens.shape == (3, 17, 32) and len(weights) == 2 and weights[0].shape == (3, 4, 17, 17)
    assert torch.allclose(weights[0].sum(-1), torch.ones(3, 4, 17), atol=1e-5)
    # the explicit-softmax path and PyTorch's fused attention agree
    assert torch.allclose(vit.forward_features(x)[0], tokens, atol=1e-5)
    assert vit.cls_attention(x).shape == (3, 4, 4)


def test_vit_bad_input_and_config():
    vit = ViT(ViTConfig(image_size=32, patch_size=8, dim=32, depth=1, heads=4))
    with pytest.raises(ValueError, match=r"shape \(batch, 3, 32, 32\)"):
        vit(torch.rand(2, 3, 16, 16))
    with pytest.raises(ValueError, match="add the batch dimension"):
        vit(torch.rand(3, 32, 32))
    with pytest.raises(ValueError, match="must divide image_size"):
        ViTConfig(image_size=30, patch_size=8)
    with pytest.raises(ValueError, match="pool="):
        ViTConfig(pool="max")


def test_sincos_embeddings_are_smooth():
    pos = sincos_2d(8, 32)
    assert pos.shape == (65, 32) and pos[0].abs().sum() == 0
    sim = torch.nn.functional.cosine_similarity(pos[1 + 27][None], pos[1:], dim=-1).reshape(8, 8)
    assert sim[3, 3] > sim[3, 4] > sim[3, 7] and sim[3, 4] > sim[0, 0]
    with pytest.raises(ValueError, match="divisible by 4"):
        sincos_2d(4, 30)
