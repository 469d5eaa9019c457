"""Speech recognition with transformers' ``WhisperForConditionalGeneration``, tiny and trained here.

Whisper (Radford et al., 2022, §2.3 and Figure 1) is an encoder-decoder transformer: the
encoder reads log-mel features (two convolutions, the second with stride 2, then
transformer blocks); the decoder writes text tokens, cross-attending to the encoder. Its
decoder starts from a prompt of special tokens that says what to do:

    <|startoftranscript|> <|en|> <|transcribe|> <|notimestamps|>  three one four <|endoftext|>

We keep that protocol with a word-level vocabulary (the real model uses byte-level BPE),
pad every input to a fixed length as Whisper pads to 30 s, and decode greedily.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from .audio import log_mel_spectrogram, resample, spec_augment
from .contracts import (
    Duck,
    Float,
    Instance,
    Int,
    ListOf,
    Tensor,
    Text,
    Texts,
    Waveform,
    contract,
    same_length,
)
from .metrics.speech import word_error_rate

#: Whisper's special tokens that apply here (multilingual tokenizer names), in vocabulary order.
SPECIAL_TOKENS = ("<|endoftext|>", "<|startoftranscript|>", "<|en|>", "<|transcribe|>", "<|notimestamps|>")
IGNORE = -100  # label positions the loss skips (transformers' convention)


class WordTokenizer:
    """Words <-> ids after Whisper's special tokens; :attr:`prompt` starts every transcript.

    Used in: chapter 04
    """

    @contract(words=Texts())
    def __init__(self, words: Sequence[str]) -> None:
        self.vocab = {t: i for i, t in enumerate([*SPECIAL_TOKENS, *dict.fromkeys(words)])}
        self.words = list(self.vocab)
        self.eot, self.sot = self.vocab["<|endoftext|>"], self.vocab["<|startoftranscript|>"]
        self.prompt = [self.vocab[t] for t in SPECIAL_TOKENS[1:]]

    def __len__(self) -> int:
        return len(self.vocab)

    @contract(text=Text())
    def encode(self, text: str) -> list[int]:
        """Prompt + word ids + end of text."""
        if not isinstance(text, str) or not text.split():
            raise ValueError(f"text must be a non-empty transcript; got {text!r}")
        unknown = [w for w in text.split() if w not in self.vocab or w in SPECIAL_TOKENS]
        if unknown:
            raise ValueError(f"text has words outside the vocabulary: {unknown}; known: {self.words[5:]}")
        return [*self.prompt, *(self.vocab[w] for w in text.split()), self.eot]

    def decode(self, ids: Sequence[int]) -> str:
        """Ids after the prompt up to end of text -> words (special tokens dropped)."""
        words = []
        for i in ids:
            if i == self.eot:
                break
            if i >= len(SPECIAL_TOKENS):
                words.append(self.words[i])
        return " ".join(words)


@contract(d_model=Int(min=8), layers=Int(min=1), heads=Int(min=1), seconds=Float(min=0.1, max=30.0),
          max_words=Int(min=1))
def tiny_whisper(tokenizer: WordTokenizer, *, d_model: int = 96, layers: int = 2, heads: int = 4,
                 seconds: float = 3.0, max_words: int = 8) -> nn.Module:
    """A randomly initialised ``WhisperForConditionalGeneration`` for ``seconds`` of
    16 kHz audio: 80 mel channels, 100 frames a second, the encoder's length halved by its
    stride-2 convolution (``max_source_positions`` must be frames / 2).

    Used in: chapter 04
    """
    from transformers import WhisperConfig, WhisperForConditionalGeneration

    if not isinstance(tokenizer, WordTokenizer):
        raise TypeError(f"tokenizer must be an asr.WordTokenizer; got {type(tokenizer).__name__}")
    frames = round(seconds * 100)
    if frames % 2:
        raise ValueError(f"seconds={seconds} gives {frames} frames; Whisper needs an even number")
    config = WhisperConfig(
        vocab_size=len(tokenizer), num_mel_bins=80, d_model=d_model, encoder_layers=layers, decoder_layers=layers,
        encoder_attention_heads=heads, decoder_attention_heads=heads, encoder_ffn_dim=4 * d_model,
        decoder_ffn_dim=4 * d_model, max_source_positions=frames // 2,
        max_target_positions=len(tokenizer.prompt) + max_words + 2, pad_token_id=tokenizer.eot,
        bos_token_id=tokenizer.sot, eos_token_id=tokenizer.eot, decoder_start_token_id=tokenizer.sot)
    model = WhisperForConditionalGeneration(config)
    model.tokenizer = tokenizer
    return model


@contract(waves=ListOf(Waveform()), seconds=Float(min=0.1, max=30.0), sample_rate=Int(min=1))
def speech_features(waves: Sequence[torch.Tensor], seconds: float = 3.0, sample_rate: int = 16000) -> torch.Tensor:
    """Pad (or cut) each 16 kHz waveform to ``seconds``, then Whisper's log-mel: (B, 80, 100 x seconds).

    Used in: chapters 04, 07
    """
    if sample_rate != 16000:
        raise ValueError(f"sample_rate must be 16000 (Whisper's rate); got {sample_rate}: resample the audio "
                         "first, mmcourse.audio.resample(wave, sample_rate, 16000)")
    n = round(seconds * 16000)
    out = []
    for wave in waves:
        wave = F.pad(wave[:n], (0, max(0, n - len(wave))))
        out.append(log_mel_spectrogram(torch.cat([wave, wave.new_zeros(1)])))  # one more sample: frames = n / 160
    return torch.stack(out)


class SpeechBatches:
    """Training batches for a speech model: features precomputed at several speeds
    (speed perturbation, Ko et al., 2015: resampling changes tempo and pitch together),
    random start offsets, and SpecAugment masks when ``spec_augment`` is on.

    Each call returns ``(features (B, 80, F), decoder_input_ids (B, L), labels (B, L))``.

    Used in: chapter 04
    """

    @contract(same_length("waves", "texts"), waves=ListOf(Waveform()), texts=Texts(), batch_size=Int(min=1),
              seed=Int(min=0))
    def __init__(self, waves: Sequence[torch.Tensor], texts: Sequence[str], tokenizer: WordTokenizer, *,
                 batch_size: int = 32, seconds: float = 3.0, speeds: Sequence[float] = (0.9, 1.0, 1.1),
                 spec_augment: bool = True, seed: int = 0) -> None:
        self.tokenizer, self.batch_size, self.augment = tokenizer, batch_size, spec_augment
        self.rng = np.random.default_rng(seed)
        stretched = [resample(w, 16000, round(16000 * s)) if s != 1.0 else w for s in speeds for w in waves]
        self.features = speech_features(stretched, seconds)  # (len(speeds) * n, 80, F)
        self.ids = [tokenizer.encode(t) for t in texts] * len(speeds)

    def __call__(self) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        idx = self.rng.integers(0, len(self.ids), self.batch_size)
        x = self.features[idx]
        shift = int(self.rng.integers(0, 20))  # up to 0.2 s of extra silence in front
        x = torch.cat([x[:, :, :1].expand(-1, -1, shift), x[:, :, : x.shape[2] - shift]], dim=2)
        if self.augment:
            x = spec_augment(x, freq_mask=10, time_mask=30, seed=int(self.rng.integers(2**31)))
        return (x, *pack_transcripts([self.ids[i] for i in idx], self.tokenizer))


def pack_transcripts(ids: Sequence[Sequence[int]], tokenizer: WordTokenizer) -> tuple[torch.Tensor, torch.Tensor]:
    """Token sequences -> (decoder inputs, labels), shifted by one; the prompt and the
    padding are not predicted (label -100)."""
    L = max(len(s) for s in ids)
    seqs = torch.full((len(ids), L), IGNORE)
    for row, s in enumerate(ids):
        seqs[row, : len(s)] = torch.tensor(s)
    inputs = seqs[:, :-1].masked_fill(seqs[:, :-1] == IGNORE, tokenizer.eot)
    labels = seqs[:, 1:].clone()
    labels[:, : len(tokenizer.prompt) - 1] = IGNORE  # the prompt is given, not learned
    return inputs, labels


@contract(model=Duck(("generation_config", "tokenizer", "model"),
                     "a WhisperForConditionalGeneration from asr.tiny_whisper"),
          batch=Instance((tuple, list), "(features, decoder_input_ids, labels) from SpeechBatches"))
def asr_loss(model: nn.Module, batch: tuple[torch.Tensor, torch.Tensor, torch.Tensor]) -> torch.Tensor:
    """Next-token cross-entropy of the transcript given the audio (teacher forcing).

    Used in: chapter 04
    """
    features, inputs, labels = batch
    logits = model(input_features=features, decoder_input_ids=inputs).logits  # (B, L, vocab)
    return F.cross_entropy(logits.flatten(0, 1), labels.flatten(), ignore_index=IGNORE)


@torch.no_grad()
@contract(model=Duck(("generation_config", "tokenizer", "model"),
                     "a WhisperForConditionalGeneration from asr.tiny_whisper"),
          features=Tensor(rank=3, kind="float", what="(batch, 80, frames) features from asr.speech_features"),
          max_words=Int(min=1))
def transcribe(model: nn.Module, features: torch.Tensor, max_words: int = 6) -> list[str]:
    """Greedy decoding: encode once, then repeatedly append the most likely next token
    after the prompt until every row has written end-of-text.

    Used in: chapters 04, 07
    """
    tokenizer: WordTokenizer = model.tokenizer
    if features.dim() != 3 or features.shape[1:] != (model.config.num_mel_bins, 2 * model.config.max_source_positions):
        raise ValueError(f"features must have shape (batch, {model.config.num_mel_bins}, "
                         f"{2 * model.config.max_source_positions}): speech_features(waves, seconds="
                         f"{model.config.max_source_positions / 50:g}); got {tuple(features.shape)}")
    was_training = model.training
    model.eval()
    device = next(model.parameters()).device
    encoded = model.model.encoder(features.to(device)).last_hidden_state  # 1. encode once
    ids = torch.tensor([tokenizer.prompt] * len(features), device=device)
    done = torch.zeros(len(features), dtype=torch.bool, device=device)
    for _ in range(max_words + 1):  # 2. one token per step for every row
        logits = model(encoder_outputs=(encoded,), decoder_input_ids=ids).logits[:, -1]
        next_id = logits.argmax(-1).masked_fill(done, tokenizer.eot)
        ids = torch.cat([ids, next_id[:, None]], dim=1)
        done |= next_id == tokenizer.eot
        if done.all():
            break
    model.train(was_training)
    return [tokenizer.decode(row[len(tokenizer.prompt):]) for row in ids.tolist()]  # 3. ids -> words


@contract(model=Duck(("generation_config", "tokenizer", "model"),
                     "a WhisperForConditionalGeneration from asr.tiny_whisper"),
          data=Duck(("waves", "texts"), "a SpokenDigits split, e.g. load_spoken_digits('heldout')"),
          seconds=Float(min=0.1, max=30.0))
def corpus_wer(model: nn.Module, data, seconds: float = 3.0) -> float:
    """Word error rate of greedy transcripts of every utterance in ``data``.

    Used in: chapter 04
    """
    return word_error_rate(data.texts, transcribe(model, speech_features(data.waves, seconds)))
