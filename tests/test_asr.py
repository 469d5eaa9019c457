"""Chapter 04's speech pieces: the Whisper prompt protocol, batches, greedy decoding, the
shipped spoken-digit data, SpecAugment and bad input."""

import numpy as np
import pytest
import torch

from mmcourse import asr
from mmcourse.audio import spec_augment
from mmcourse.data.spoken_digits import (
    DIGITS,
    HELDOUT_VOICES,
    TRAIN_VOICES,
    load_spoken_digits,
    mu_law_decode,
    mu_law_encode,
)


@pytest.fixture(scope="module")
def tokenizer():
    return asr.WordTokenizer(DIGITS)


def test_tokenizer_follows_whisper_prompt(tokenizer):
    ids = tokenizer.encode("three one four")
    words = [tokenizer.words[i] for i in ids]
    assert words == ["<|startoftranscript|>", "<|en|>", "<|transcribe|>", "<|notimestamps|>", "three", "one", "four",
                     "<|endoftext|>"]
    assert tokenizer.decode(ids[4:]) == "three one four"
    with pytest.raises(ValueError, match="text must be a non-empty string"):
        tokenizer.encode("  ")
    with pytest.raises(ValueError, match="outside the vocabulary"):
        tokenizer.encode("three eleven")


def test_pack_transcripts_masks_prompt_and_padding(tokenizer):
    inputs, labels = asr.pack_transcripts([tokenizer.encode("one two"), tokenizer.encode("three")], tokenizer)
    assert inputs.shape == labels.shape == (2, 6)  # the longer transcript: 4 prompt + 2 words + end, less one
    assert (labels[:, :3] == asr.IGNORE).all(), "the prompt's continuation is given, not learned"
    assert labels[0].tolist()[3:] == [tokenizer.vocab["one"], tokenizer.vocab["two"], tokenizer.eot]
    assert labels[1].tolist()[3:] == [tokenizer.vocab["three"], tokenizer.eot, asr.IGNORE]
    assert inputs[1, -1] == tokenizer.eot, "padding in the decoder input is end-of-text, never -100"


def test_whisper_trains_and_decodes(tokenizer):
    torch.manual_seed(0)
    model = asr.tiny_whisper(tokenizer, d_model=32, layers=1, seconds=1.0)
    waves = [torch.sin(torch.arange(12000) * f) * 0.3 for f in (0.05, 0.2)]
    texts = ["one two", "three"]
    batches = asr.SpeechBatches(waves, texts, tokenizer, batch_size=4, seconds=1.0, speeds=(1.0,))
    feats, inputs, labels = batches()
    assert feats.shape == (4, 80, 100)
    opt = torch.optim.AdamW(model.parameters(), lr=3e-3)
    for _ in range(150):
        loss = asr.asr_loss(model, batches())
        opt.zero_grad()
        loss.backward()
        opt.step()
    assert float(loss.detach()) < 0.1, f"two clips should be memorised; loss {float(loss.detach()):.3f}"
    out = asr.transcribe(model, asr.speech_features(waves, seconds=1.0))
    assert out == texts


def test_speech_features_shape_and_rate():
    f = asr.speech_features([torch.zeros(100) + 0.1, torch.rand(50000) - 0.5], seconds=3.0)
    assert f.shape == (2, 80, 300)
    with pytest.raises(ValueError, match="sample_rate must be 16000"):
        asr.speech_features([torch.rand(8000)], sample_rate=8000)
    with pytest.raises(TypeError, match="int16"):
        asr.speech_features([(torch.rand(8000) * 1000).to(torch.int16)])
    with pytest.raises(ValueError, match="channels"):
        asr.speech_features([torch.rand(2, 8000)])


def test_shipped_spoken_digits():
    train, held = load_spoken_digits("train"), load_spoken_digits("heldout")
    assert (len(train), len(held)) == (400, 120)
    assert set(train.voices) == set(TRAIN_VOICES) and set(held.voices) == set(HELDOUT_VOICES)
    assert not set(train.voices) & set(held.voices), "held-out voices are never heard in training"
    assert all(3 <= len(t.split()) <= 5 and set(t.split()) <= set(DIGITS) for t in train.texts + held.texts)
    assert max(len(w) for w in train.waves + held.waves) <= 3 * 16000, "every utterance fits the 3 s window"


def test_mu_law_round_trip():
    x = np.linspace(-1, 1, 1001).astype(np.float32)
    err = np.abs(mu_law_decode(mu_law_encode(x)) - x)
    assert err[np.abs(x) < 0.01].max() < 2e-4, "fine steps near zero"
    assert err.max() < 0.025, "8-bit mu-law: at most ~0.022 next to full scale"


def test_spec_augment_masks_and_keeps_input():
    x = torch.randn(80, 300)
    y = spec_augment(x, freq_mask=10, time_mask=30, seed=3)
    assert torch.equal(x, spec_augment(x, freq_mask=0, time_mask=0))
    changed_rows = (y != x).all(1).sum().item()
    changed_cols = (y != x).all(0).sum().item()
    assert changed_rows <= 10 and changed_cols <= 30
    assert not torch.equal(x, y) and torch.equal(y, spec_augment(x, freq_mask=10, time_mask=30, seed=3))
