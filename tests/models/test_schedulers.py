"""The from-scratch schedules and steps of ``mmcourse.models.schedulers`` against diffusers."""

import pytest
import torch
from diffusers import DDIMScheduler, DDPMScheduler

from mmcourse.models.schedulers import (
    NoiseSchedule,
    add_noise,
    ddim_step,
    ddpm_step,
    make_betas,
    sampling_timesteps,
)

KINDS = {"linear": "linear", "cosine": "squaredcos_cap_v2", "scaled_linear": "scaled_linear"}


@pytest.mark.parametrize("kind", list(KINDS))
def test_betas_equal_diffusers(kind):
    kw = {"beta_start": 0.00085, "beta_end": 0.012} if kind == "scaled_linear" else {}
    ours = make_betas(kind, 1000, **kw)
    theirs = DDPMScheduler(num_train_timesteps=1000, beta_schedule=KINDS[kind], **kw).betas
    assert torch.allclose(ours.float(), theirs, atol=1e-6), (ours - theirs).abs().max()


def test_add_noise_equals_diffusers():
    torch.manual_seed(0)
    x0, noise, t = torch.randn(6, 4, 8, 8), torch.randn(6, 4, 8, 8), torch.tensor([0, 1, 10, 500, 998, 999])
    ours = add_noise(NoiseSchedule.create("linear", 1000), x0, noise, t)
    theirs = DDPMScheduler(num_train_timesteps=1000).add_noise(x0, noise, t)
    assert torch.allclose(ours, theirs, atol=1e-5), (ours - theirs).abs().max()


@pytest.mark.parametrize("steps", [1000, 50, 4])
def test_ddpm_step_equals_scheduler(steps):
    """Algorithm 2 written out = DDPMScheduler.step, every step, with the same noise."""
    sched = DDPMScheduler(num_train_timesteps=1000, clip_sample=False, timestep_spacing="trailing")
    sched.set_timesteps(steps)
    ours_sched = NoiseSchedule.create("linear", 1000)
    assert sched.timesteps.tolist() == sampling_timesteps(1000, steps)
    torch.manual_seed(1)
    x_ours = x_theirs = torch.randn(2, 3, 4, 4)
    ts = sched.timesteps.tolist()
    for i, t in enumerate(ts):
        eps = x_ours / (1 - sched.alphas_cumprod[t]).sqrt() + 0.1 * torch.sin(3 * x_ours)  # keeps x bounded
        g = torch.Generator().manual_seed(i)
        x_theirs = sched.step(eps, t, x_theirs, generator=g).prev_sample
        z = torch.randn(x_ours.shape, generator=torch.Generator().manual_seed(i))
        t_prev = t - 1000 // steps
        x_ours = ddpm_step(ours_sched, eps, t, x_ours, t_prev=t_prev, noise=z)
        # diffusers keeps abar in float32, we in float64: rounding adds up over 1000 steps
        assert torch.allclose(x_ours, x_theirs, atol=1e-3), (t, (x_ours - x_theirs).abs().max())
    assert torch.allclose(x_ours, x_theirs, atol=1e-3)


@pytest.mark.parametrize("kind", ["linear", "cosine"])
def test_ddim_step_equals_scheduler(kind):
    sched = DDIMScheduler(num_train_timesteps=1000, beta_schedule=KINDS[kind], clip_sample=False,
                          timestep_spacing="trailing")
    sched.set_timesteps(10)
    ours_sched = NoiseSchedule.create(kind, 1000)
    torch.manual_seed(2)
    x_ours = x_theirs = torch.randn(2, 4, 8, 8)
    ts = sched.timesteps.tolist()
    assert ts == sampling_timesteps(1000, 10)
    for t in ts:
        eps = torch.tanh(x_ours - t / 1000)
        x_theirs = sched.step(eps, t, x_theirs).prev_sample
        x_ours = ddim_step(ours_sched, eps, t, x_ours, t_prev=t - 100)
        assert torch.allclose(x_ours, x_theirs, atol=1e-4), (t, (x_ours - x_theirs).abs().max())


def test_closed_form_equals_iterated_noising():
    """q(x_t | x_0) in one jump has the mean and spread of t single steps (eq. 2 vs eq. 4)."""
    s = NoiseSchedule.create("linear", 1000)
    x0 = torch.full((200_000,), 0.7, dtype=torch.float64)
    x = x0.clone()
    gen = torch.Generator().manual_seed(0)
    for t in range(300):
        b = s.betas[t]
        x = (1 - b).sqrt() * x + b.sqrt() * torch.randn(x.shape, generator=gen, dtype=torch.float64)
    jump = add_noise(s, x0, torch.randn(x0.shape, generator=gen, dtype=torch.float64), 299)
    assert abs(float(x.mean() - jump.mean())) < 0.01 and abs(float(x.std() - jump.std())) < 0.01


def test_bad_inputs_name_the_argument():
    s = NoiseSchedule.create("linear", 100)
    x = torch.zeros(1, 3, 4, 4)
    with pytest.raises(ValueError, match="kind"):
        make_betas("quadratic", 100)
    with pytest.raises(ValueError, match="steps=200"):
        sampling_timesteps(100, 200)
    with pytest.raises(ValueError, match="steps"):
        sampling_timesteps(100, 0)
    with pytest.raises(ValueError, match="t must be"):
        add_noise(s, x, x, 100)
    with pytest.raises(ValueError, match="t_prev"):
        ddim_step(s, x, 10, x, t_prev=10)
    with pytest.raises(ValueError, match="noise"):
        add_noise(s, x, torch.zeros(1, 3, 4, 5), 3)
