"""The chapter 05 pieces against the library: tokenizer/text encoder conversion, the VAE's
Gaussian, and the hand-written sampling loop against ``StableDiffusionPipeline``."""

import pytest
import torch
from diffusers.models.autoencoders.vae import DiagonalGaussianDistribution

from mmcourse import diffusion, zoo
from mmcourse.models.schedulers import NoiseSchedule
from mmcourse.models.unet import DenoiserConfig, build_denoiser
from mmcourse.models.vae import VAEConfig, build_vae, elbo_loss, gaussian_kl, reparameterise

PROMPTS = ["a red circle", "A GREEN Square!", "zebra triangle", "a small blue cross on the left at the top right"]


@pytest.fixture(scope="module")
def clip():
    return zoo.load("clip-shapes")


def test_hf_tokenizer_gives_the_course_ids(clip):
    tok = diffusion.hf_tokenizer(clip)
    ids = tok(PROMPTS, padding="max_length", max_length=tok.model_max_length, truncation=True,
              return_tensors="pt").input_ids
    clip.tokenizer.truncate = True
    assert torch.equal(ids, clip.tokenizer(PROMPTS))


def test_hf_text_encoder_equals_the_tower(clip):
    tok, enc = diffusion.hf_tokenizer(clip), diffusion.hf_text_encoder(clip)
    ids = clip.tokenizer(PROMPTS[:2])
    with torch.no_grad():
        assert torch.allclose(enc(ids).pooler_output, clip.text_model(ids), atol=1e-5)
        assert diffusion.encode_prompts(tok, enc, PROMPTS[:2]).shape == (2, 12, clip.config.text_width)


def test_reparameterise_and_kl_equal_diagonal_gaussian():
    torch.manual_seed(0)
    params = torch.randn(3, 8, 4, 4)
    dist = DiagonalGaussianDistribution(params)
    g = torch.Generator().manual_seed(5)
    theirs = dist.sample(generator=g)
    noise = torch.randn(dist.mean.shape, generator=torch.Generator().manual_seed(5))
    assert torch.allclose(reparameterise(dist.mean, dist.logvar, noise), theirs, atol=1e-6)
    assert torch.allclose(gaussian_kl(dist.mean, dist.logvar), dist.kl(), atol=1e-4)


def test_elbo_loss_parts_add_up():
    torch.manual_seed(0)
    vae = build_vae(VAEConfig())
    loss, parts = elbo_loss(vae, torch.rand(2, 3, 32, 32) * 2 - 1, beta=0.5)
    loss = float(loss.detach())
    assert abs(loss - (parts["reconstruction"] + 0.5 * parts["kl"])) < 1e-3 * loss


@pytest.mark.parametrize("guidance", [0.0, 3.0])
def test_pipeline_equals_the_hand_written_loop(clip, guidance):
    """StableDiffusionPipeline(prompt) == encode_prompts + sample(DDIM) + vae.decode, same seed."""
    torch.manual_seed(0)
    vae, unet = build_vae(VAEConfig(scaling_factor=1.7)), build_denoiser(DenoiserConfig())
    schedule = NoiseSchedule.create("linear", 1000)
    pipe = diffusion.text_to_image_pipeline(vae, unet, clip, schedule, sampler="ddim")
    prompts = ["a red circle", "a blue square"]
    out = pipe(prompts, num_inference_steps=5, guidance_scale=1 + guidance, output_type="pt",
               generator=torch.Generator().manual_seed(3)).images
    cond = diffusion.encode_prompts(pipe.tokenizer, pipe.text_encoder, prompts)
    uncond = diffusion.encode_prompts(pipe.tokenizer, pipe.text_encoder, [""])
    z = diffusion.sample(unet, schedule, (2, 4, 8, 8), steps=5, cond=cond, uncond=uncond, guidance=guidance,
                         generator=torch.Generator().manual_seed(3))
    with torch.no_grad():
        ours = (vae.decode(z / vae.config.scaling_factor).sample / 2 + 0.5).clamp(0, 1)
    assert out.shape == ours.shape == (2, 3, 32, 32)
    assert torch.allclose(out, ours, atol=1e-4), (out - ours).abs().max()


def test_unconditional_denoiser_and_loss():
    torch.manual_seed(0)
    unet = build_denoiser(DenoiserConfig(in_channels=3, sample_size=16, cross_attention_dim=None))
    s = NoiseSchedule.create("cosine", 100)
    loss = diffusion.denoising_loss(unet, s, torch.rand(2, 3, 16, 16))
    loss.backward()
    x = diffusion.sample(unet, s, (1, 3, 16, 16), steps=3, sampler="ddpm", generator=torch.Generator().manual_seed(0))
    assert x.shape == (1, 3, 16, 16) and torch.isfinite(x).all()


def test_bad_inputs_name_the_argument(clip):
    s = NoiseSchedule.create("linear", 100)
    unet = build_denoiser(DenoiserConfig())
    with pytest.raises(ValueError, match="w must"):
        diffusion.guided_eps(torch.zeros(1), torch.zeros(1), -1.0)
    with pytest.raises(ValueError, match="guidance must"):
        diffusion.sample(unet, s, (1, 4, 8, 8), steps=2, guidance=-0.5)
    with pytest.raises(ValueError, match="steps"):
        diffusion.sample(unet, s, (1, 4, 8, 8), steps=0)
    with pytest.raises(ValueError, match="steps=101"):
        diffusion.sample(unet, s, (1, 4, 8, 8), steps=101)
    with pytest.raises(ValueError, match="shape"):
        diffusion.sample(unet, s, (1, 4, 8), steps=2)
    with pytest.raises(ValueError, match="prompts"):
        diffusion.encode_prompts(diffusion.hf_tokenizer(clip), diffusion.hf_text_encoder(clip), [])
    with pytest.raises(ValueError, match="name"):
        diffusion.make_scheduler("euler", s)
    with pytest.raises(ValueError, match="block_out_channels"):
        VAEConfig(block_out_channels=(12, 32))
    with pytest.raises(ValueError, match="strength"):
        diffusion.img2img_steps(4, 1.5)
    with pytest.raises(ValueError, match="steps x strength must be >= 1"):
        diffusion.img2img_steps(2, 0.3)
    assert diffusion.img2img_steps(2, 0.5) == 1 and diffusion.img2img_steps(50, 0.75) == 37
    with pytest.raises(ValueError, match="latents must have 4 channels"):
        diffusion.decode_latents(build_vae(VAEConfig()), torch.zeros(1, 3, 8, 8))
    with pytest.raises(ValueError, match="prompts"):
        diffusion.TextToImage(None, unet, s, None, None).generate([])
    with pytest.raises(TypeError, match="pairs"):
        diffusion.shape_prompts(["red circle"])
    with pytest.raises(ValueError, match="pairs"):
        diffusion.shape_prompts([("red", "hexagon")])
