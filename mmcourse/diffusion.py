"""Text-to-image diffusion on the shapes world: training loss, guided sampling, the pipeline.

* :func:`denoising_loss` -- DDPM's L_simple (Ho et al., 2020, eq. 14, Algorithm 1): noise a
  clean x_0 to a random t in one jump (eq. 4) and regress the noise; the caption is replaced
  by the empty one with probability ``p_uncond`` so the same network also learns the
  unconditional model (Ho & Salimans, 2022, Algorithm 1).
* :func:`guided_eps` -- classifier-free guidance, eps~ = (1 + w) eps(z, c) - w eps(z)
  (Ho & Salimans eq. 6). diffusers' ``guidance_scale`` is 1 + w.
* :func:`sample` -- the sampling loop written out with the from-scratch steps of
  :mod:`mmcourse.models.schedulers` (DDPM Algorithm 2 or DDIM eq. 12).
* :func:`text_to_image_pipeline` -- the same parts as a diffusers ``StableDiffusionPipeline``;
  its output equals :func:`sample` + decode for the same seed (``tests/test_diffusion.py``).

Text enters as the token states of a CLIP text tower (chapter 02's ``clip-shapes``),
converted to transformers' ``CLIPTextModel`` with a matching fast tokenizer, as in Stable
Diffusion (Rombach et al., 2022, §3.3).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

import torch
from tqdm.auto import tqdm

from .contracts import (
    Choice,
    Float,
    Images,
    Instance,
    Int,
    Maybe,
    Strings,
    Tensor,
    check_images,
    contract,
)
from .metrics.image import frechet_distance, prompt_accuracy
from .models.clip import CLIP
from .models.schedulers import NoiseSchedule, add_noise, ddim_step, ddpm_step, sampling_timesteps

Sampler = Literal["ddpm", "ddim"]
SAMPLERS: tuple[str, ...] = ("ddpm", "ddim")


# -- text: clip-shapes as transformers classes ------------------------------------------
@contract(clip=Instance(CLIP, "a CLIP with a tokenizer, e.g. zoo.load('clip-shapes')"))
def hf_text_encoder(clip: CLIP) -> Any:
    """A transformers ``CLIPTextModel`` holding the text tower of ``clip`` (same weights):
    its ``last_hidden_state`` is the (B, L, D) token states the UNet cross-attends to.

    Used in: chapter 05
    """
    from transformers import CLIPTextConfig, CLIPTextModel

    c = clip.config
    config = CLIPTextConfig(vocab_size=c.vocab_size, hidden_size=c.text_width, num_hidden_layers=c.text_layers,
                            num_attention_heads=c.text_heads, intermediate_size=int(c.text_width * c.mlp_ratio),
                            max_position_embeddings=c.context_length, layer_norm_eps=c.layer_norm_eps,
                            hidden_act="quick_gelu", eos_token_id=c.eos_token_id, bos_token_id=2, pad_token_id=0,
                            projection_dim=c.embed_dim)
    model = CLIPTextModel(config)
    target = getattr(model, "text_model", model)  # transformers 4 nests the tower one level deeper
    missing, unexpected = target.load_state_dict(clip.text_model.state_dict(), strict=False)
    if unexpected or any(not k.endswith("position_ids") for k in missing):
        raise RuntimeError(f"CLIPTextModel weights do not line up: missing {missing}, unexpected {unexpected}")
    return model.eval().requires_grad_(False).to(next(clip.parameters()).device)


@contract(clip=Instance(CLIP, "a CLIP with a tokenizer, e.g. zoo.load('clip-shapes')"))
def hf_tokenizer(clip: CLIP) -> Any:
    """A transformers fast tokenizer giving the ids of ``clip.tokenizer``: [BOS] words [EOS]
    [PAD]..., lower-cased, unknown words -> [UNK], ``model_max_length`` = the context length.

    Used in: chapter 05
    """
    from tokenizers import Regex, Tokenizer, models, normalizers, pre_tokenizers, processors
    from transformers import PreTrainedTokenizerFast

    batcher = clip.tokenizer
    if batcher is None or not hasattr(batcher, "tokenizer") or not hasattr(batcher.tokenizer, "vocab"):
        raise ValueError("clip must carry a word tokenizer (clip.tokenizer = TextBatcher(WordTokenizer, ...))")
    vocab = dict(batcher.tokenizer.vocab)
    tok = Tokenizer(models.WordLevel(vocab, unk_token="[UNK]"))
    tok.normalizer = normalizers.Lowercase()
    tok.pre_tokenizer = pre_tokenizers.Sequence([pre_tokenizers.WhitespaceSplit(),
                                                 pre_tokenizers.Split(Regex(r"\w+|[^\w\s]"), "isolated")])
    tok.post_processor = processors.TemplateProcessing(
        single="[BOS] $A [EOS]", special_tokens=[("[BOS]", vocab["[BOS]"]), ("[EOS]", vocab["[EOS]"])])
    return PreTrainedTokenizerFast(tokenizer_object=tok, bos_token="[BOS]", eos_token="[EOS]", pad_token="[PAD]",
                                   unk_token="[UNK]", model_max_length=batcher.context_length)


@contract(prompts=Strings())
@torch.no_grad()
def encode_prompts(tokenizer: Any, text_encoder: Any, prompts: list[str]) -> torch.Tensor:
    """(B, L, D) token states of the prompts, exactly as ``StableDiffusionPipeline`` computes them.

    Used in: chapter 05
    """
    if not prompts:
        raise ValueError("prompts must be a non-empty list of strings")
    ids = tokenizer(prompts, padding="max_length", max_length=tokenizer.model_max_length, truncation=True,
                    return_tensors="pt").input_ids
    device = next(text_encoder.parameters()).device
    return text_encoder(ids.to(device)).last_hidden_state


# -- training -------------------------------------------------------------------------
@contract(schedule=Instance(NoiseSchedule, "a NoiseSchedule"), x0=Tensor(rank=4, kind="float"),
          cond=Maybe(Tensor(rank=3, kind="float")), uncond=Maybe(Tensor(rank=3, kind="float")),
          p_uncond=Float(min=0, max=1))
def denoising_loss(unet: Any, schedule: NoiseSchedule, x0: torch.Tensor, cond: torch.Tensor | None = None,
                   uncond: torch.Tensor | None = None, *, p_uncond: float = 0.1) -> torch.Tensor:
    """L_simple = E ||eps - eps_theta(x_t, t, c)||^2 (DDPM eq. 14) on one batch; with
    probability ``p_uncond`` a sample's condition becomes ``uncond`` (the empty caption).

    Used in: chapter 05
    """
    B = x0.shape[0]  # x0: (batch, channels, height, width), in [-1, 1] or scaled latents
    # 1. a random step per sample, noise, and x_t in one jump (eq. 4)
    t = torch.randint(0, schedule.timesteps, (B,), device=x0.device)
    noise = torch.randn_like(x0)
    x_t = add_noise(schedule, x0, noise, t)
    if cond is None:
        return (unet(x_t, t).sample - noise).pow(2).mean()
    if cond.shape[0] != B:
        raise ValueError(f"cond must hold one caption per image ({B}); got {cond.shape[0]}")
    # 2. condition dropout: the same network learns eps(z) for guidance
    if uncond is not None and p_uncond > 0:
        drop = torch.rand(B, device=x0.device) < p_uncond
        cond = torch.where(drop[:, None, None], uncond.expand_as(cond), cond)
    # 3. regress the noise
    return (unet(x_t, t, encoder_hidden_states=cond).sample - noise).pow(2).mean()


# -- sampling -------------------------------------------------------------------------
@contract(eps_uncond=Tensor(kind="float"), eps_cond=Tensor(kind="float"), w=Float(min=0))
def guided_eps(eps_uncond: torch.Tensor, eps_cond: torch.Tensor, w: float) -> torch.Tensor:
    """Classifier-free guidance (Ho & Salimans eq. 6): (1 + w) eps(z, c) - w eps(z).

    Used in: chapter 05
    """
    if eps_uncond.shape != eps_cond.shape:
        raise ValueError(f"eps_uncond {tuple(eps_uncond.shape)} and eps_cond {tuple(eps_cond.shape)} must match")
    return (1 + w) * eps_cond - w * eps_uncond


@contract(schedule=Instance(NoiseSchedule, "a NoiseSchedule"), shape=Instance(tuple, "(B, C, H, W)"),
          steps=Int(min=1), cond=Maybe(Tensor(rank=3, kind="float")), uncond=Maybe(Tensor(rank=3, kind="float")),
          guidance=Float(min=0), sampler=Choice(SAMPLERS), generator=Maybe(Instance(torch.Generator, "a torch.Generator")))
@torch.no_grad()
def sample(unet: Any, schedule: NoiseSchedule, shape: tuple[int, ...], *, steps: int = 50,
           cond: torch.Tensor | None = None, uncond: torch.Tensor | None = None, guidance: float = 0.0,
           sampler: Sampler = "ddim", generator: torch.Generator | None = None, progress: bool = False) -> torch.Tensor:
    """Run the reverse process from pure noise: ``steps`` DDPM (Algorithm 2) or DDIM (eq. 12)
    steps, with classifier-free guidance weight ``guidance`` = w when > 0. Returns x_0 (B, C, H, W).
    """
    if len(shape) != 4 or any(not isinstance(s, int) or s < 1 for s in shape):
        raise ValueError(f"shape must be (batch, channels, height, width) positive ints; got {shape}")
    if steps > schedule.timesteps:
        raise ValueError(f"steps={steps} exceeds the {schedule.timesteps} training timesteps")
    if guidance > 0 and (cond is None or uncond is None):
        raise ValueError("guidance > 0 needs both cond and uncond token states")
    device = next(unet.parameters()).device
    cond, uncond = (None if c is None else c.to(device) for c in (cond, uncond))  # the text encoder may live elsewhere
    # 1. x_T ~ N(0, I), drawn on the CPU from the generator (as diffusers' randn_tensor does)
    x = torch.randn(shape, generator=generator).to(device)
    ts = sampling_timesteps(schedule.timesteps, steps)
    if cond is not None and uncond is not None and guidance > 0:
        uncond = uncond.expand(shape[0], -1, -1)
    for t in tqdm(ts, desc=f"{sampler} x{steps}", disable=not progress, leave=False):
        t_prev = t - schedule.timesteps // steps  # where diffusers' DDPM/DDIM schedulers step to
        # 2. predict the noise (twice with guidance: conditional and unconditional)
        if cond is None:
            eps = unet(x, t).sample
        elif guidance > 0:
            eps_u, eps_c = unet(torch.cat([x, x]), t, encoder_hidden_states=torch.cat([uncond, cond])).sample.chunk(2)
            eps = guided_eps(eps_u, eps_c, guidance)
        else:
            eps = unet(x, t, encoder_hidden_states=cond).sample
        # 3. one reverse step
        if sampler == "ddim":
            x = ddim_step(schedule, eps, t, x, t_prev=t_prev)
        else:
            z = torch.randn(shape, generator=generator).to(device)
            x = ddpm_step(schedule, eps, t, x, t_prev=t_prev, noise=z)
    return x


# -- images <-> latents, and prompts for the shapes world ------------------------------
@contract(images=Images(channels=3), batch_size=Int(min=1))
@torch.no_grad()
def encode_images(vae: Any, images: torch.Tensor, batch_size: int = 256) -> torch.Tensor:
    """Images in [0, 1] (B, 3, H, W) -> scaled latents: the posterior mean times the VAE's
    ``scaling_factor`` (Stable Diffusion scales by 0.18215 so that latents have unit variance).

    Used in: chapter 05
    """
    check_images(images, channels=3)
    device = next(vae.parameters()).device
    out = [vae.encode(images[i:i + batch_size].to(device) * 2 - 1).latent_dist.mean
           for i in range(0, len(images), batch_size)]
    return torch.cat(out) * vae.config.scaling_factor


@contract(latents=Tensor(rank=4, kind="float", what="(batch, channels, height, width) scaled latents"))
@torch.no_grad()
def decode_latents(vae: Any, latents: torch.Tensor) -> torch.Tensor:
    """Scaled latents -> images in [0, 1], as ``StableDiffusionPipeline`` decodes them.

    Used in: chapter 05
    """
    if latents.shape[1] != vae.config.latent_channels:
        raise ValueError(f"latents must have {vae.config.latent_channels} channels (the VAE's latent_channels); "
                         f"got shape {tuple(latents.shape)}")
    return (vae.decode(latents / vae.config.scaling_factor).sample / 2 + 0.5).clamp(0, 1)


@contract(pairs=Instance((list, tuple), "a list of (colour, shape) names"), per_pair=Int(min=1))
def shape_prompts(pairs: list[tuple[str, str]], per_pair: int = 1) -> tuple[list[str], torch.Tensor, torch.Tensor]:
    """Prompts "a {colour} {shape}" for (colour, shape) pairs, each repeated ``per_pair``
    times, with the colour and shape ids a classifier should read back.

    Used in: chapter 05
    """
    from .data.vocabulary import COLORS, SHAPES

    colors, shapes = list(COLORS), list(SHAPES)
    for item in pairs:
        if not isinstance(item, (tuple, list)) or len(item) != 2:
            raise TypeError(f"pairs: each entry must be a (colour, shape) pair of names; got {item!r}")
    for c, s in pairs:
        if c not in colors or s not in shapes:
            raise ValueError(f"pairs: ({c!r}, {s!r}) is not a colour-shape pair of {colors} x {list(SHAPES)}")
    prompts = [f"a {c} {s}" for c, s in pairs for _ in range(per_pair)]
    color_ids = torch.tensor([colors.index(c) for c, _ in pairs for _ in range(per_pair)])
    shape_ids = torch.tensor([shapes.index(s) for _, s in pairs for _ in range(per_pair)])
    return prompts, color_ids, shape_ids


@dataclass
class TextToImage:
    """The parts of a latent text-to-image model: VAE, denoiser, schedule, text tower and
    tokenizer (what ``StableDiffusionPipeline`` holds, minus the library scheduler)."""

    vae: Any
    unet: Any
    schedule: NoiseSchedule
    tokenizer: Any
    text_encoder: Any

    @contract(prompts=Strings(), steps=Int(min=1), guidance=Float(min=0), sampler=Choice(SAMPLERS), seed=Int(min=0))
    def generate(self, prompts: list[str], *, steps: int = 25, guidance: float = 2.0, sampler: Sampler = "ddim",
                 seed: int = 0, progress: bool = False) -> torch.Tensor:
        """Images in [0, 1] (B, 3, H, W) for the prompts: encode, sample latents, decode."""
        cond = encode_prompts(self.tokenizer, self.text_encoder, prompts)
        uncond = encode_prompts(self.tokenizer, self.text_encoder, [""])
        c, side = self.unet.config.in_channels, self.unet.config.sample_size
        z = sample(self.unet, self.schedule, (len(prompts), c, side, side), steps=steps, cond=cond, uncond=uncond,
                   guidance=guidance, sampler=sampler, generator=torch.Generator().manual_seed(seed), progress=progress)
        return decode_latents(self.vae, z).cpu()


@contract(model=Instance(TextToImage, "a TextToImage"), pairs=Instance((list, tuple), "a list of (colour, shape) names"),
          per_pair=Int(min=1))
def prompt_scores(model: TextToImage, classifier: torch.nn.Module, pairs: list[tuple[str, str]], *, per_pair: int = 8,
                  real: torch.Tensor | None = None, **generate_kwargs: Any) -> dict[str, float]:
    """Generate ``per_pair`` images for each "a {colour} {shape}" and let ``classifier`` (a
    colour-shape pair classifier with ``.features``, e.g. the zoo's ``shapes-cnn``) read them:
    colour / shape / pair accuracy, and the Fréchet distance of its features to ``real`` images.

    Used in: chapters 05, 06
    """
    prompts, colors, shapes = shape_prompts(pairs, per_pair)
    images = model.generate(prompts, **generate_kwargs)
    with torch.no_grad():
        device = next(classifier.parameters()).device
        pred = classifier(images.to(device)).argmax(1).cpu()
        scores = prompt_accuracy(pred, colors, shapes)
        if real is not None:
            fake_f, real_f = classifier.features(images.to(device)), classifier.features(real.to(device))
            scores["frechet"] = frechet_distance(fake_f.cpu(), real_f.cpu())
    return scores


@contract(steps=Int(min=1), strength=Float(min=0, max=1))
def img2img_steps(steps: int, strength: float) -> int:
    """How many denoising steps image-to-image runs: it noises the input to t = strength * T
    and denoises from there, so only int(steps * strength) of the ``steps`` run (diffusers'
    ``StableDiffusionImg2ImgPipeline.get_timesteps``). Raises when that is 0.

    Used in: chapter 05
    """
    run = int(steps * strength)
    if run < 1:
        raise ValueError(f"steps x strength must be >= 1 (got steps={steps}, strength={strength}: no step would run); "
                         f"raise strength or steps, e.g. steps={max(1, round(1 / strength)) if strength else 2}")
    return run


# -- the library pipeline -------------------------------------------------------------
@contract(name=Choice(SAMPLERS), schedule=Instance(NoiseSchedule, "a NoiseSchedule"))
def make_scheduler(name: Sampler, schedule: NoiseSchedule, *, beta_start: float = 1e-4, beta_end: float = 0.02,
                   beta_schedule: str = "linear") -> Any:
    """The diffusers scheduler (``"ddpm"`` or ``"ddim"``) that steps like :func:`sample`.

    Used in: chapter 05
    """
    from diffusers import DDIMScheduler, DDPMScheduler

    cls = {"ddpm": DDPMScheduler, "ddim": DDIMScheduler}[name]
    made = cls(num_train_timesteps=schedule.timesteps, beta_start=beta_start, beta_end=beta_end,
               beta_schedule=beta_schedule, clip_sample=False, timestep_spacing="trailing",
               steps_offset=1)  # the pipeline insists on steps_offset=1; "trailing" does not use it
    if not torch.allclose(made.alphas_cumprod.double(), schedule.alphas_cumprod, atol=1e-5):
        raise ValueError("beta_start/beta_end/beta_schedule do not reproduce the schedule's betas")
    return made


@contract(sampler=Choice(SAMPLERS), schedule=Instance(NoiseSchedule, "a NoiseSchedule"))
def text_to_image_pipeline(vae: Any, unet: Any, clip: CLIP, schedule: NoiseSchedule, *,
                           sampler: Sampler = "ddim") -> Any:
    """Assemble a diffusers ``StableDiffusionPipeline`` from the tiny parts: the VAE, the
    text-conditional UNet, clip-shapes' text tower and tokenizer, and a scheduler.

    Used in: chapter 05
    """
    from diffusers import StableDiffusionPipeline

    pipe = StableDiffusionPipeline(vae=vae, unet=unet, text_encoder=hf_text_encoder(clip), tokenizer=hf_tokenizer(clip),
                                   scheduler=make_scheduler(sampler, schedule), safety_checker=None,
                                   feature_extractor=None, requires_safety_checker=False)
    pipe.set_progress_bar_config(disable=True)
    return pipe
