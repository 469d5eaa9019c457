"""Audio-text contrastive learning (chapter 04): chapter 02's recipe on sounds.

:class:`mmcourse.models.audio.CLAP` is a CLIP whose image tower reads log-mel
spectrograms, so :func:`mmcourse.contrastive.contrastive_loss` trains it unchanged and
:mod:`mmcourse.zeroshot` names sounds by their captions.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import get_args

import torch

from . import text, zeroshot
from .audio import log_mel_batch
from .contracts import Choice, Instance, Int, Tensor, Texts, contract, same_length
from .data.batches import Batches
from .data.sound_scenes import SOUND_CLASSES, SoundCaptions, class_name
from .metrics.retrieval import rank_summary
from .models.audio import CLAP, AudioCNN, AudioCNNConfig, TextTower
from .models.clip import CLIPConfig


@contract(captions=Texts())
def sounds_tokenizer(captions: Sequence[str]) -> text.WordTokenizer:
    """A word tokenizer for sound captions and the canonical names of all 54 sounds.

    Used in: chapter 04
    """

    return text.WordTokenizer.train(list(captions) + [class_name(s) for s in SOUND_CLASSES], max_vocab=100)


@contract(embed_dim=Int(min=1), width=Int(min=1), context_length=Int(min=2), text_width=Int(min=1),
          text_layers=Int(min=1), text_heads=Int(min=1), text_tower=Choice(get_args(TextTower)))
def sounds_clap(tokenizer: text.WordTokenizer, *, embed_dim: int = 64, width: int = 128,
                channels: tuple[int, ...] = (16, 32, 64), context_length: int = 14, text_width: int = 64,
                text_layers: int = 2, text_heads: int = 4, text_tower: TextTower = "eos") -> CLAP:
    """A fresh tiny CLAP for one-second sounds: an :class:`AudioCNN` on log-mel, a text tower
    (chapter 02's causal transformer read at its end token, ``"eos"``; the same averaged over
    the caption, ``"mean"``; or a bag of words, ``"bag"``), and ``tokenizer`` attached so
    ``encode_text`` takes strings.

    Used in: chapter 04
    """
    if not isinstance(tokenizer, text.WordTokenizer):
        raise TypeError(f"tokenizer must be a text.WordTokenizer (e.g. sounds_tokenizer(captions)); "
                        f"got {type(tokenizer).__name__}")
    config = CLIPConfig(embed_dim=embed_dim, vision_width=width, vocab_size=tokenizer.vocab_size,
                        context_length=context_length, text_width=text_width, text_layers=text_layers,
                        text_heads=text_heads, eos_token_id=tokenizer.vocab[text.EOS])
    model = CLAP(config, AudioCNN(AudioCNNConfig(channels=tuple(channels), width=width)), text_tower=text_tower)
    model.tokenizer = text.TextBatcher(tokenizer, context_length)
    return model


@torch.no_grad()
@contract(model=Instance(CLAP, "a models.audio.CLAP, e.g. sounds_clap(tokenizer)"),
          seen=Instance(SoundCaptions, "make_sound_captions(n, 'train')"),
          held=Instance(SoundCaptions, "make_sound_captions(n, 'holdout')"))
def sound_metrics(model: CLAP, seen: SoundCaptions, held: SoundCaptions) -> dict[str, float]:
    """Zero-shot accuracy over all 54 sounds (each written as its canonical caption) on
    ``seen`` and on ``held`` clips, and Recall@1/5 from audio to caption and back on
    ``seen`` (any clip of the same sound counts as a right answer).

    Used in: chapter 04
    """
    was_training = model.training
    model.eval()
    class_emb = zeroshot.class_embeddings(model, [class_name(s) for s in SOUND_CLASSES], ["{}"])
    out = {}
    for split, clips in (("seen", seen), ("holdout", held)):
        audio_emb = model.encode_audio(log_mel_batch(clips.waves))
        out[f"zero_shot_{split}"] = round(float(((audio_emb @ class_emb.T).argmax(1) == clips.labels).float().mean()), 4)
    audio_emb, text_emb = model.encode_audio(log_mel_batch(seen.waves)), model.encode_text(seen.captions)
    right = seen.labels[:, None] == seen.labels[None, :]
    for direction, sim in (("a2t", audio_emb @ text_emb.T), ("t2a", text_emb @ audio_emb.T)):
        ranks = rank_summary(sim, right, ks=(1, 5))
        out[f"{direction}_R@1"], out[f"{direction}_R@5"] = round(ranks["R@1"], 4), round(ranks["R@5"], 4)
    model.train(was_training)
    return out


@contract(same_length("waves", "captions"), model=Instance(CLAP, "a models.audio.CLAP, e.g. sounds_clap(tokenizer)"),
          waves=Tensor(rank=2, kind="float", what="(clips, samples) 16 kHz waveforms"), captions=Texts(),
          batch_size=Int(min=1), seed=Int(min=0))
def clap_batches(model: CLAP, waves: torch.Tensor, captions: Sequence[str], *, batch_size: int = 64,
                 seed: int = 0) -> Batches:
    """(log-mel, caption tokens) mini-batches for ``fit(model, ..., loss_fn=contrastive_loss)``:
    clip i goes with caption i.

    Used in: chapter 04
    """
    return Batches(log_mel_batch(waves), model.tokenizer(list(captions)), batch_size=batch_size, seed=seed)
