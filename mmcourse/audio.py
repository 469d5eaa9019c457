"""Audio as tensors: waveform -> STFT -> mel filterbank -> log-mel, from scratch in torch.

The defaults reproduce Whisper's features (Radford et al., 2022, section 2.2: 16 kHz,
25 ms windows with a 10 ms hop, 80 mel channels, log scale, normalised to about
[-1, 1]); ``tests/test_audio.py`` checks them against transformers'
``WhisperFeatureExtractor``.
"""

from __future__ import annotations

import math

import numpy as np
import torch

from .contracts import Bool, Choice, Float, Int, Maybe, Tensor, Waveform, contract


def _check_rate(sample_rate: float, name: str = "sample_rate") -> None:
    if isinstance(sample_rate, bool) or not isinstance(sample_rate, (int, float)) or not sample_rate > 0:
        raise ValueError(f"{name} must be a positive number of samples per second; got {sample_rate!r}")


def as_waveform(wave: torch.Tensor | np.ndarray, name: str = "wave") -> torch.Tensor:
    """A mono float waveform as a 1-D float32 tensor; int16 PCM, stereo, empty or NaN input
    gets an error that says how to fix it (see :class:`mmcourse.contracts.Waveform`)."""
    return Waveform().check(wave, name)


# 1. The mel scale: equal steps in mel sound like equal steps in pitch.
def hz_to_mel(freq: torch.Tensor | float, scale: str = "slaney") -> torch.Tensor:
    """Hertz -> mels. ``"htk"``: 2595 log10(1 + f/700); ``"slaney"``: linear below 1 kHz,
    logarithmic above (Slaney's Auditory Toolbox, used by librosa and Whisper).
    """
    f = torch.as_tensor(freq, dtype=torch.float64)
    if scale == "htk":
        return 2595.0 * torch.log10(1.0 + f / 700.0)
    if scale != "slaney":
        raise ValueError(f"scale={scale!r}: expected 'slaney' or 'htk'")
    min_log_hz, min_log_mel, logstep = 1000.0, 15.0, math.log(6.4) / 27.0
    return torch.where(f >= min_log_hz, min_log_mel + torch.log(f / min_log_hz) / logstep, 3.0 * f / 200.0)


def mel_to_hz(mels: torch.Tensor | float, scale: str = "slaney") -> torch.Tensor:
    """The inverse of :func:`hz_to_mel`."""
    m = torch.as_tensor(mels, dtype=torch.float64)
    if scale == "htk":
        return 700.0 * (10.0 ** (m / 2595.0) - 1.0)
    if scale != "slaney":
        raise ValueError(f"scale={scale!r}: expected 'slaney' or 'htk'")
    min_log_hz, min_log_mel, logstep = 1000.0, 15.0, math.log(6.4) / 27.0
    return torch.where(m >= min_log_mel, min_log_hz * torch.exp(logstep * (m - min_log_mel)), 200.0 * m / 3.0)


@contract(n_freqs=Int(min=2), n_mels=Int(min=1), sample_rate=Float(min=0, open_min=True), f_min=Float(min=0),
          f_max=Maybe(Float(min=0, open_min=True)), scale=Choice(("slaney", "htk")), norm=Maybe(Choice(("slaney",))))
def mel_filterbank(n_freqs: int, n_mels: int, sample_rate: int, f_min: float = 0.0,
                   f_max: float | None = None, scale: str = "slaney", norm: str | None = "slaney"
                   ) -> torch.Tensor:
    """Triangular filters, (n_freqs, n_mels): column m weights the STFT bins of mel band m.

    The band edges are ``n_mels + 2`` points equally spaced in mels; filter m rises from
    edge m to edge m+1 and falls to edge m+2. ``norm="slaney"`` scales each filter by
    2 / (its width in Hz), so every band has the same area.

    Used in: chapter 01
    """
    _check_rate(sample_rate)
    if n_freqs < 2 or n_mels < 1:
        raise ValueError(f"n_freqs must be >= 2 and n_mels >= 1; got {n_freqs}, {n_mels}")
    f_max = sample_rate / 2 if f_max is None else f_max
    if not 0 <= f_min < f_max <= sample_rate / 2:
        raise ValueError(f"need 0 <= f_min < f_max <= sample_rate/2; got f_min={f_min}, f_max={f_max}")
    fft_freqs = torch.linspace(0, sample_rate / 2, n_freqs, dtype=torch.float64)  # (F,)
    mel_edges = torch.linspace(float(hz_to_mel(f_min, scale)), float(hz_to_mel(f_max, scale)), n_mels + 2,
                               dtype=torch.float64)
    edges = mel_to_hz(mel_edges, scale)  # (M + 2,) in Hz
    lower, center, upper = edges[:-2], edges[1:-1], edges[2:]  # (M,) each
    rising = (fft_freqs[:, None] - lower) / (center - lower)  # (F, M)
    falling = (upper - fft_freqs[:, None]) / (upper - center)
    fb = torch.clamp(torch.minimum(rising, falling), min=0.0)
    if norm == "slaney":
        fb = fb * (2.0 / (upper - lower))
    elif norm is not None:
        raise ValueError(f"norm={norm!r}: expected 'slaney' or None")
    return fb.float()


# 2. The short-time Fourier transform: the spectrum of overlapping windows.
@contract(wave=Waveform(), n_fft=Int(min=2), hop_length=Int(min=1))
def power_spectrogram(wave: torch.Tensor, n_fft: int = 400, hop_length: int = 160) -> torch.Tensor:
    """|STFT|^2 with a periodic Hann window, centred frames (reflect padding): (n_fft/2+1, frames)."""
    wave = as_waveform(wave)
    if n_fft <= 0 or hop_length <= 0:
        raise ValueError(f"n_fft and hop_length must be positive; got {n_fft}, {hop_length}")
    if wave.numel() <= n_fft // 2:
        raise ValueError(f"wave has {wave.numel()} samples; reflect padding needs more than n_fft/2 = {n_fft // 2}")
    spec = torch.stft(wave, n_fft, hop_length, window=torch.hann_window(n_fft), center=True,
                      pad_mode="reflect", return_complex=True)
    return spec.abs() ** 2  # (F, T)


@contract(wave=Waveform(), sample_rate=Float(min=0, open_min=True), n_fft=Int(min=2), hop_length=Int(min=1),
          n_mels=Int(min=1), f_max=Maybe(Float(min=0, open_min=True)), normalize=Bool())
def log_mel_spectrogram(wave: torch.Tensor | np.ndarray, sample_rate: int = 16000, n_fft: int = 400,
                        hop_length: int = 160, n_mels: int = 80, f_max: float | None = 8000.0,
                        normalize: bool = True) -> torch.Tensor:
    """Log-mel features, (n_mels, frames), Whisper's recipe by default.

    Steps: (1) power STFT, (2) mel filterbank, (3) log10 with a floor of 1e-10,
    (4) if ``normalize``: drop the last frame, clip to 8 (i.e. 80 dB) below the maximum,
    then (x + 4) / 4, as ``whisper/audio.py`` does.

    Used in: chapter 01
    """
    _check_rate(sample_rate)
    power = power_spectrogram(as_waveform(wave), n_fft, hop_length)  # (F, T)
    fb = mel_filterbank(n_fft // 2 + 1, n_mels, sample_rate, f_max=f_max)  # (F, M)
    mel = fb.T @ power  # (M, T)
    logmel = torch.log10(torch.clamp(mel, min=1e-10))
    if not normalize:
        return logmel
    logmel = logmel[:, :-1]
    logmel = torch.maximum(logmel, logmel.max() - 8.0)
    return (logmel + 4.0) / 4.0


@contract(wave=Waveform(), orig_rate=Int(min=1), new_rate=Int(min=1))
def resample(wave: torch.Tensor | np.ndarray, orig_rate: int, new_rate: int) -> torch.Tensor:
    """Change the sample rate with a proper anti-aliasing filter (polyphase, SciPy).

    Used in: chapters 01, 04
    """
    _check_rate(orig_rate, "orig_rate")
    _check_rate(new_rate, "new_rate")
    wave = as_waveform(wave)
    if orig_rate == new_rate:
        return wave.clone()
    from scipy.signal import resample_poly

    g = math.gcd(int(orig_rate), int(new_rate))
    out = resample_poly(wave.double().numpy(), int(new_rate) // g, int(orig_rate) // g)
    return torch.from_numpy(out).float()


@contract(wave=Waveform(), sample_rate=Float(min=0, open_min=True))
def dominant_frequency(wave: torch.Tensor | np.ndarray, sample_rate: int) -> float:
    """The frequency (Hz) with the most energy in the whole clip.

    Used in: chapter 01
    """
    _check_rate(sample_rate)
    wave = as_waveform(wave)
    spectrum = torch.fft.rfft(wave * torch.hann_window(wave.numel(), periodic=False)).abs()
    return float(spectrum.argmax()) * sample_rate / wave.numel()


@contract(features=Tensor(rank=(2, 3), kind="float", what="(mels, frames) or (batch, mels, frames) log-mel features"),
          freq_mask=Int(min=0), time_mask=Int(min=0), num_freq_masks=Int(min=0), num_time_masks=Int(min=0),
          seed=Int(min=0))
def spec_augment(features: torch.Tensor, *, freq_mask: int = 8, time_mask: int = 20, num_freq_masks: int = 1,
                 num_time_masks: int = 1, seed: int = 0) -> torch.Tensor:
    """SpecAugment's masking (Park et al., 2019, §2): hide ``num_freq_masks`` bands of
    f ~ U[0, F] mel channels and ``num_time_masks`` stretches of t ~ U[0, T] frames, each
    at a uniform random start, by setting them to the spectrogram's mean. Time warping is
    left out (the paper finds it the least useful, §5). Their LibriSpeech policy uses
    F = 27 of 80 channels and T = 100 frames (Table 1). Returns a masked copy.

    Used in: chapter 04
    """
    out = features.clone()
    batch = out if out.dim() == 3 else out[None]
    B, M, T = batch.shape  # (batch, mel channels, frames)
    g = torch.Generator().manual_seed(seed)
    for b in range(B):
        fill = batch[b].mean()
        for size, count, axis_len, axis in ((freq_mask, num_freq_masks, M, 0), (time_mask, num_time_masks, T, 1)):
            for _ in range(count):
                width = int(torch.randint(0, min(size, axis_len) + 1, (), generator=g))  # 1. width ~ U[0, F]
                start = int(torch.randint(0, axis_len - width + 1, (), generator=g))  # 2. start ~ U[0, len - width]
                if axis == 0:
                    batch[b, start:start + width, :] = fill  # 3. mask mel channels
                else:
                    batch[b, :, start:start + width] = fill  # ... or frames
    return out


@contract(waves=Tensor(rank=2, kind="float", what="(clips, samples) waveforms of equal length"),
          sample_rate=Float(min=0, open_min=True))
def log_mel_batch(waves: torch.Tensor, sample_rate: int = 16000) -> torch.Tensor:
    """:func:`log_mel_spectrogram` of each row, normalised per clip: (clips, 80, samples / hop).
    One extra zero sample per clip makes the frame count exactly samples / 160.

    Used in: chapter 04
    """
    padded = torch.cat([waves, waves.new_zeros(len(waves), 1)], dim=1)
    return torch.stack([log_mel_spectrogram(w, sample_rate) for w in padded])
