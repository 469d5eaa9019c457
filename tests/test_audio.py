"""Log-mel from scratch vs the library twins (transformers' Whisper feature extractor and
mel_filter_bank); synthetic sounds; speech through espeak-ng."""

import numpy as np
import pytest
import torch
from transformers import WhisperFeatureExtractor
from transformers.audio_utils import hertz_to_mel, mel_filter_bank

from mmcourse import audio
from mmcourse.data import sounds

TOLERANCE = 1e-4  # max |difference| of Whisper-normalised log-mel features (range about -1..1.5)


@pytest.mark.parametrize("scale", ["slaney", "htk"])
@pytest.mark.parametrize("norm", ["slaney", None])
def test_mel_filterbank_matches_transformers(scale, norm):
    for n_freqs, n_mels, rate, fmax in [(201, 80, 16000, 8000.0), (257, 40, 22050, None), (129, 10, 8000, 3000.0)]:
        ours = audio.mel_filterbank(n_freqs, n_mels, rate, f_max=fmax, scale=scale, norm=norm)
        ref = mel_filter_bank(num_frequency_bins=n_freqs, num_mel_filters=n_mels, min_frequency=0.0,
                              max_frequency=fmax or rate / 2, sampling_rate=rate, norm=norm, mel_scale=scale)
        assert np.abs(ours.numpy() - ref).max() < 1e-6 * max(1.0, ref.max())


def test_hz_mel_round_trip_and_library_scale():
    f = torch.tensor([0.0, 300.0, 1000.0, 4000.0, 8000.0])
    for scale in ("slaney", "htk"):
        assert torch.allclose(audio.mel_to_hz(audio.hz_to_mel(f, scale), scale), f.double(), atol=1e-6)
        assert np.allclose(audio.hz_to_mel(f, scale).numpy(), hertz_to_mel(f.numpy(), mel_scale=scale), atol=1e-6)


def _signals():
    yield sounds.chirp(100, 7000, 1.0)
    yield sounds.noise_burst(1.0, seed=3) + 0.1 * sounds.tone(300, 1.0)
    yield sounds.clicks([0.1, 0.6], 1.0) + sounds.tone(2000, 1.0, amplitude=0.05)


@pytest.mark.parametrize("wave", list(_signals()), ids=["chirp", "noise+tone", "clicks+tone"])
def test_log_mel_matches_whisper_feature_extractor(wave):
    fe = WhisperFeatureExtractor(feature_size=80, chunk_length=1)
    ref = fe(wave.numpy(), sampling_rate=16000, return_tensors="np").input_features[0]
    ours = audio.log_mel_spectrogram(wave)
    assert ours.shape == ref.shape == (80, 100)
    assert np.abs(ours.numpy() - ref).max() <= TOLERANCE
    # and the extractor's NumPy implementation (float64 STFT) too
    ref_np = fe._np_extract_fbank_features(wave.numpy()[None].astype(np.float64), "cpu")[0]
    assert np.abs(ours.numpy() - ref_np).max() <= TOLERANCE


def test_resample_and_dominant_frequency():
    t = sounds.tone(1000, 1.0, sample_rate=22050)
    assert abs(audio.dominant_frequency(audio.resample(t, 22050, 16000), 16000) - 1000) < 3
    assert abs(audio.dominant_frequency(t, 22050) - 1000) < 3
    high = sounds.tone(7000, 1.0, sample_rate=22050)
    assert abs(audio.dominant_frequency(high[::2], 11025) - 4025) < 3  # aliasing
    assert audio.resample(high, 22050, 11025)[200:-200].abs().max() < 0.05  # filtered out (edges ring)


@pytest.mark.parametrize("call, match", [
    (lambda: audio.log_mel_spectrogram(torch.zeros(16000), sample_rate=0), "sample_rate must be a finite number > 0"),
    (lambda: audio.log_mel_spectrogram(torch.zeros(16000), sample_rate=-8000), "sample_rate must be a finite number > 0"),
    (lambda: audio.resample(torch.zeros(10), 0, 16000), "orig_rate must be a positive"),
    (lambda: audio.log_mel_spectrogram(torch.zeros(2, 16000)), "1-D"),
    (lambda: audio.log_mel_spectrogram(torch.zeros(0)), "empty"),
    (lambda: audio.log_mel_spectrogram(torch.zeros(100)), "reflect padding"),
    (lambda: audio.mel_filterbank(201, 80, 16000, f_max=9000), "f_max"),
    (lambda: audio.hz_to_mel(100.0, "bark"), "scale='bark'"),
    (lambda: sounds.tone(440, 1.0, sample_rate=0), "sample_rate must be a positive int"),
    (lambda: sounds.tone(9000, 1.0), "freq must be in"),
])
def test_bad_audio_input_names_the_argument(call, match):
    with pytest.raises(ValueError, match=match):
        call()


def test_int16_arrays_are_refused_with_a_hint():
    with pytest.raises(TypeError, match="divide by 32768"):
        audio.log_mel_spectrogram(np.zeros(16000, dtype=np.int16))


def test_synthetic_sounds():
    assert sounds.tone(440, 0.5).shape == (8000,)
    burst = sounds.noise_burst(1.0, start=0.3, length=0.3)
    assert burst[:4000].abs().max() == 0 and burst[5000:9000].abs().max() > 0
    assert (sounds.clicks([0.5], 1.0) != 0).sum() == 1
    assert abs(audio.dominant_frequency(sounds.chirp(1000, 1000, 1.0), 16000) - 1000) < 3


@pytest.mark.skipif(not sounds.espeak_available(), reason="espeak-ng is not installed (.ci/run installs it)")
def test_speech_from_espeak():
    wave = sounds.speech("one two three")
    assert wave.dim() == 1 and 0.5 < len(wave) / 16000 < 4 and 0.05 < wave.abs().max() <= 1.0
    with pytest.raises(ValueError, match="text"):
        sounds.speech("  ")


def test_read_wav_tolerates_streaming_headers():
    import io
    import wave as wavefile

    buf = io.BytesIO()
    with wavefile.open(buf, "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(22050)
        w.writeframes(np.arange(100, dtype="<i2").tobytes())
    data = bytearray(buf.getvalue())
    data[4:8] = data[40:44] = (0x7FFFFFFF).to_bytes(4, "little")  # as espeak-ng --stdout writes
    pcm, rate = sounds.read_wav(bytes(data))
    assert rate == 22050 and pcm.tolist() == list(range(100))
