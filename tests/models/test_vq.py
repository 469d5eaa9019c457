"""The VQ tokenizer: the quantiser equals diffusers' VectorQuantizer; lookups equal VQModel's."""

import pytest
import torch
from diffusers.models.autoencoders.vae import VectorQuantizer

from mmcourse.models.vq import (
    VQConfig,
    VQLoss,
    build_vq,
    codebook_usage,
    codes_to_image,
    image_to_codes,
    nearest_codes,
    quantise,
)

TINY = VQConfig(block_out_channels=(8, 8), codebook_size=16, code_dim=4)


@pytest.mark.parametrize("seed", range(3))
def test_quantise_equals_diffusers_vector_quantizer(seed):
    g = torch.Generator().manual_seed(seed)
    theirs = VectorQuantizer(32, 6, beta=0.25, legacy=False)
    theirs.embedding.weight.data = torch.randn(32, 6, generator=g)
    z = torch.randn(3, 6, 5, 4, generator=g)
    z_q, loss, (_, _, idx) = theirs(z)
    ours = quantise(z, theirs.embedding.weight.detach(), beta=0.25)
    assert torch.equal(ours.codes.flatten(), idx.flatten()), "same nearest codes as VectorQuantizer"
    assert torch.allclose(ours.z_q, z_q), "same quantised vectors as VectorQuantizer"
    total = ours.codebook_loss + ours.commitment_loss
    assert torch.allclose(total, loss), f"eq. 3's two terms should add to VectorQuantizer's loss: {total} vs {loss}"


def test_legacy_vector_quantizer_puts_beta_on_the_wrong_term():
    g = torch.Generator().manual_seed(0)
    legacy = VectorQuantizer(8, 3, beta=0.25)  # diffusers' default, legacy=True
    legacy.embedding.weight.data = torch.randn(8, 3, generator=g)
    z = torch.randn(2, 3, 4, 4, generator=g)
    ours = quantise(z, legacy.embedding.weight.detach(), beta=0.25)
    swapped = 0.25 * ours.codebook_loss + ours.commitment_loss / 0.25
    assert torch.allclose(legacy(z)[1], swapped), "legacy=True weighs the codebook term by beta"


def test_straight_through_copies_the_gradient():
    z = torch.randn(2, 4, 3, 3, requires_grad=True)
    q = quantise(z, torch.randn(10, 4))
    weights = torch.randn_like(q.z_q)
    (q.z_q * weights).sum().backward()
    assert torch.equal(z.grad, weights), "the decoder's gradient should reach the encoder unchanged"


def test_the_codebook_gradient_is_the_same_on_every_run():
    """Same inputs, same gradient, bit for bit, on two threads: codebook[codes]'s backward summed
    in a thread-dependent order and made two vq-shapes runs with one seed part at step 1."""
    g = torch.Generator().manual_seed(0)
    z, codebook = torch.randn(64, 16, 8, 8, generator=g), torch.randn(128, 16, generator=g, requires_grad=True)
    weights = torch.randn(64, 16, 8, 8, generator=g)
    grads = []
    for _ in range(10):
        codebook.grad = None
        q = quantise(z, codebook)
        (q.codebook_loss + (q.z_q * weights).sum()).backward()
        grads.append(codebook.grad.clone())
    assert all(torch.equal(grads[0], g_) for g_ in grads[1:]), "the codebook gradient changed between runs"


def test_codebook_usage_counts_perplexity_and_dead_codes():
    uniform = codebook_usage(torch.arange(8).repeat(5), 10)
    assert abs(uniform["perplexity"] - 8) < 1e-9, f"8 codes used equally: perplexity 8, got {uniform}"
    assert uniform["dead codes"] == 2, f"two codes never used: {uniform}"
    one = codebook_usage(torch.zeros(20, dtype=torch.long), 10)
    assert abs(one["perplexity"] - 1) < 1e-9, f"one code: perplexity 1, got {one}"


def test_codes_round_trip_equals_the_vq_model():
    torch.manual_seed(0)
    vq = build_vq(TINY).eval()
    images = torch.rand(3, 3, 32, 32)
    codes = image_to_codes(vq, images)  # (3, 16, 16)
    assert codes.shape == (3, TINY.grid, TINY.grid), f"one code per grid cell: {tuple(codes.shape)}"
    with torch.no_grad():
        library = (vq(images * 2 - 1).sample / 2 + 0.5).clamp(0, 1)
    gap = (codes_to_image(vq, codes) - library).abs().max().item()
    # VQModel adds the straight-through z + (e - z): float32 rounding, not a different code
    assert gap < 1e-4, f"decode(lookup(codes)) should equal VQModel.forward (gap {gap:.1e})"


def test_restarts_revive_dead_codes():
    torch.manual_seed(0)
    vq = build_vq(TINY)
    loss_fn = VQLoss(restart_every=1)
    loss_fn(vq, (torch.rand(4, 3, 32, 32),))
    assert loss_fn.restarted > 0, "codes unused in the first step should be restarted"
    z = vq.encode(torch.rand(4, 3, 32, 32) * 2 - 1).latents.detach()
    used = codebook_usage(nearest_codes(z, vq.quantize.embedding.weight.detach()), TINY.codebook_size)
    assert used["codes used"] > 1, f"restarted codes sit on encoder outputs and get used: {used}"


def test_bad_inputs_name_the_argument():
    vq = build_vq(TINY)
    with pytest.raises(ValueError, match="codes must lie"):
        codes_to_image(vq, torch.full((1, 16, 16), 99))
    with pytest.raises(ValueError, match="codebook has vectors"):
        nearest_codes(torch.randn(1, 3, 2, 2), torch.randn(5, 4))
    with pytest.raises(ValueError, match="image_size"):
        VQConfig(image_size=30)
    with pytest.raises(ValueError, match="codebook_size"):
        VQConfig(codebook_size=1)
