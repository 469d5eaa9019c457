"""Chapter 04's audio-text pieces and data: CLAP is a CLIP that chapter 02's loss trains,
the sounds' held-out combinations, the motion clips' labels, and bad input."""

import itertools

import numpy as np
import pytest
import torch

from mmcourse import audiotext
from mmcourse.audio import log_mel_batch
from mmcourse.contrastive import contrastive_loss
from mmcourse.data.motion import LABELS, make_motion_clips
from mmcourse.data.sound_scenes import HOLDOUT_SOUNDS, SOUND_CLASSES, make_sound_captions
from mmcourse.models.audio import AudioCNN, AudioCNNConfig
from mmcourse.models.clip import CLIP
from mmcourse.train import fit


def test_holdout_sounds_share_no_pair_and_every_pair_is_trained():
    train_triples = {s[:3] for s in SOUND_CLASSES} - set(HOLDOUT_SOUNDS)
    for held in HOLDOUT_SOUNDS:
        for keep in itertools.combinations(range(3), 2):
            assert any(all(t[k] == held[k] for k in keep) for t in train_triples), (
                f"{held}: the pair {[held[k] for k in keep]} must still occur in training")
    for a, b in itertools.combinations(HOLDOUT_SOUNDS, 2):
        assert sum(x == y for x, y in zip(a, b)) <= 1, f"{a} and {b} share a pair"


def test_sound_splits():
    train, held = make_sound_captions(300, "train", seed=0), make_sound_captions(100, "holdout", seed=1)
    assert train.waves.shape == (300, 16000) and len(train.captions) == 300
    assert not {SOUND_CLASSES[i][:3] for i in train.labels.tolist()} & set(HOLDOUT_SOUNDS)
    assert {SOUND_CLASSES[i][:3] for i in held.labels.tolist()} <= set(HOLDOUT_SOUNDS)
    for caption, label in zip(train.captions, train.labels.tolist()):
        assert all(word in caption for word in SOUND_CLASSES[label]), f"{caption!r} names its sound"
    assert torch.equal(train.waves, make_sound_captions(300, "train", seed=0).waves), "seeded"


def test_clap_is_a_clip_and_learns():
    sounds = make_sound_captions(256, "train", seed=0)
    torch.manual_seed(0)
    model = audiotext.sounds_clap(audiotext.sounds_tokenizer(sounds.captions), channels=(8, 16), width=32)
    assert isinstance(model, CLIP)
    history = fit(model, audiotext.clap_batches(model, sounds.waves, sounds.captions, batch_size=64), steps=40,
                  loss_fn=contrastive_loss, lr=3e-3, progress=False)
    assert history.final_loss < 0.7 * history.loss[0]
    emb = model.encode_audio(log_mel_batch(sounds.waves[:4]))
    assert emb.shape == (4, 64) and torch.allclose(emb.norm(dim=-1), torch.ones(4))
    metrics = audiotext.sound_metrics(model, make_sound_captions(50, "train", seed=2),
                                      make_sound_captions(50, "holdout", seed=3))
    assert set(metrics) == {"zero_shot_seen", "zero_shot_holdout", "a2t_R@1", "a2t_R@5", "t2a_R@1", "t2a_R@5"}


def test_caption_list_of_the_wrong_length():
    sounds = make_sound_captions(8, "train", seed=0)
    model = audiotext.sounds_clap(audiotext.sounds_tokenizer(sounds.captions))
    with pytest.raises(ValueError, match="waves and captions must have the same length"):
        audiotext.clap_batches(model, sounds.waves, sounds.captions[:-1])


def test_audio_tower_names_the_bad_shape():
    tower = AudioCNN(AudioCNNConfig())
    with pytest.raises(ValueError, match=r"features must have shape \(batch, 80, 100\)"):
        tower(torch.rand(2, 1, 80, 100))
    with pytest.raises(ValueError, match="channels"):
        AudioCNNConfig(channels=())


@pytest.mark.parametrize("task", list(LABELS))
def test_motion_clips(task):
    clips = make_motion_clips(40, task, seed=0)
    assert clips.videos.shape == (40, 8, 3, 16, 16)
    counts = torch.bincount(clips.labels, minlength=len(LABELS[task]))
    assert counts.max() - counts.min() <= 1, "labels are balanced"
    assert 0 <= float(clips.videos.min()) and float(clips.videos.max()) <= 1


def test_direction_clips_differ_only_in_order():
    """Left-moving clips are right-moving clips played backwards: the frame-averaged image
    of the two classes has the same distribution (here: the same mean position of colour)."""
    clips = make_motion_clips(2000, "direction", seed=0)
    names = clips.label_names
    mean_frame = clips.videos.mean(1)  # what a model that averages frames could see
    xs = torch.arange(16).float()
    centre = (mean_frame.sum((1, 2)) * xs).sum(-1) / mean_frame.sum((1, 2, 3))
    left, right = centre[clips.labels == names.index("left")], centre[clips.labels == names.index("right")]
    assert abs(float(left.mean() - right.mean())) < 0.2, "no position bias between left and right clips"


def _tokens(model, captions):
    return model.tokenizer(list(captions))


def test_bag_of_words_tower_ignores_word_order_and_padding():
    sounds = make_sound_captions(16, "train", seed=0)
    torch.manual_seed(0)
    model = audiotext.sounds_clap(audiotext.sounds_tokenizer(sounds.captions), text_tower="bag").eval()
    a, b = "a high rising buzzing sound at the end", "a rising buzzing high sound at the end"
    with torch.no_grad():
        emb = model.encode_text([a, b, "a low rising buzzing sound at the end"])
    assert torch.allclose(emb[0], emb[1], atol=1e-6), "the same words in another order: the same caption"
    assert not torch.allclose(emb[0], emb[2], atol=1e-3), "another word: another caption"
    eos = audiotext.sounds_clap(audiotext.sounds_tokenizer(sounds.captions)).eval()
    with torch.no_grad():
        assert not torch.allclose(*eos.encode_text([a, b]), atol=1e-3), "chapter 02's tower reads word order"


def test_mean_pooled_tower_averages_the_transformer_up_to_end_of_text():
    sounds = make_sound_captions(16, "train", seed=0)
    torch.manual_seed(0)
    model = audiotext.sounds_clap(audiotext.sounds_tokenizer(sounds.captions), text_tower="mean").eval()
    tokens = _tokens(model, ["a low sound", "a high rising pure sound in the middle"])
    tower = model.text_model
    T = tokens.shape[1]
    with torch.no_grad():
        h = tower.final_layer_norm(tower.encoder(tower.embeddings(tokens), torch.ones(T, T, dtype=torch.bool).tril()))
        ends = (tokens == tower.config.eos_token_id).int().argmax(1).tolist()
        want = torch.stack([h[i, :end + 1].mean(0) for i, end in enumerate(ends)])
        assert torch.allclose(tower(tokens), want, atol=1e-6)


def test_unknown_text_tower_is_named():
    sounds = make_sound_captions(8, "train", seed=0)
    with pytest.raises(ValueError, match="text_tower"):
        audiotext.sounds_clap(audiotext.sounds_tokenizer(sounds.captions), text_tower="cls")


def test_hiss_band_is_the_same_width_in_octaves_at_both_pitches():
    """The texture "hissing" must not depend on pitch: a steady hiss keeps about the same
    share of its power within 10% of its pitch, low or high (the captions treat the
    attributes as independent; a band of fixed width in Hz kept 25% low and 85% high)."""
    from mmcourse.data import sound_scenes

    share = {}
    for pitch in ("low", "high"):
        rng, centre = np.random.default_rng(0), sound_scenes.PITCHES[pitch]
        power = sum(np.abs(np.fft.rfft(sound_scenes._event(centre, "steady", "hissing", 8000, rng))) ** 2
                    for _ in range(20))
        near = np.abs(np.fft.rfftfreq(8000, 1 / sound_scenes.SAMPLE_RATE) / centre - 1) <= 0.1
        share[pitch] = power[near].sum() / power.sum()
    assert abs(share["low"] - share["high"]) < 0.1, f"power within 10% of the pitch: {share}"
