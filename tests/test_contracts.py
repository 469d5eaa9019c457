"""Every public function refuses bad input clearly.

* The public API is what the chapters and solutions call (resolved from their imports,
  ``mmcourse._tools.authoring.chapter_references``) plus the methods learners call on
  objects; every one of those functions must declare a contract (``mmcourse.contracts``).
  A function added by a later chapter without one fails here.
* A property-based sweep (hypothesis, fixed seed and example budget) feeds each declared
  argument of every contract bad values, one argument at a time, the others valid: each
  call must raise a ``ValueError``/``TypeError`` from the contract itself (before the
  function body runs, so never from deep inside torch, NumPy or FAISS) whose message names
  the argument and says what was expected.
* Where every argument of a function is declared, it is called with the contracts' own
  valid examples: it must return finite numbers (no NaN from finite input) or refuse
  cleanly.
"""

from __future__ import annotations

import functools
import importlib
import inspect
import math
import traceback

import numpy as np
import pytest
import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import mmcourse
from mmcourse import contracts
from mmcourse._tools.authoring import chapter_references
from tests.helpers import ROOT

#: Methods learners call on objects (the chapters reach them through instances).
PUBLIC_METHODS = [
    "mmcourse.retrieval.EmbeddingIndex.add", "mmcourse.retrieval.EmbeddingIndex.search",
    "mmcourse.models.vlm.model.VLM.answer", "mmcourse.models.vlm.model.VLM.ask",
    "mmcourse.models.vlm.model.VLM.describe", "mmcourse.models.vlm.model.VLM.chat",
    "mmcourse.models.vlm.model.VLM.generate", "mmcourse.models.vlm.model.VLM.set_stage",
    "mmcourse.data.shapes.ShapesData.label", "mmcourse.data.shapes.ShapesData.class_names",
    "mmcourse.data.shapes.ShapesData.objects", "mmcourse.models.clip.CLIP.encode_image",
    "mmcourse.models.clip.CLIP.encode_text",
]
SWEEP = settings(max_examples=12, derandomize=True, deadline=None, database=None,
                 suppress_health_check=list(HealthCheck))


def _resolve(dotted: str):
    parts = dotted.split(".")
    for i in range(len(parts), 0, -1):
        try:
            obj = importlib.import_module(".".join(parts[:i]))
        except ImportError:
            continue
        for attr in parts[i:]:
            obj = getattr(obj, attr)
        return obj
    raise ImportError(dotted)


def public_functions() -> dict[str, object]:
    out = {}
    for key in [*chapter_references(ROOT), *PUBLIC_METHODS]:
        obj = _resolve(key)
        if inspect.isfunction(obj) or inspect.ismethod(obj) or (callable(obj) and hasattr(obj, "__wrapped__")):
            out[key] = obj
    return out


PUBLIC = public_functions()


def test_the_public_api_is_found():
    assert len(PUBLIC) >= 100, sorted(PUBLIC)
    assert "mmcourse.data.shapes.make_shapes" in PUBLIC and "mmcourse.retrieval.EmbeddingIndex.add" in PUBLIC


def test_every_public_function_has_a_contract():
    missing = sorted(k for k, fn in PUBLIC.items() if not hasattr(fn, "__contract__"))
    assert not missing, ("these public functions declare no contract; decorate them with "
                         f"mmcourse.contracts.contract(...): {missing}")


# -- the sweep ----------------------------------------------------------------------------
def _bad_values(spec: contracts.Spec) -> st.SearchStrategy:
    """Hypothesis strategies of values ``spec`` must refuse, beyond ``spec.bad()``."""
    junk = st.one_of(st.none(), st.booleans().filter(lambda b: not isinstance(spec, contracts.Bool)),
                     st.text(max_size=4).filter(lambda t: not isinstance(spec, (contracts.Text, contracts.Choice))))
    if isinstance(spec, contracts.Int):
        out = [st.floats(allow_nan=True).filter(lambda f: not float(f).is_integer()), st.text(max_size=3), st.booleans()]
        if spec.min is not None:
            out.append(st.integers(max_value=spec.min - 1))
        if spec.max is not None:
            out.append(st.integers(min_value=spec.max + 1))
        return st.one_of(out)
    if isinstance(spec, contracts.Float):
        out = [st.sampled_from([math.nan, math.inf, -math.inf]), st.text(max_size=3), st.booleans()]
        if spec.min is not None:
            out.append(st.floats(max_value=spec.min, exclude_max=not spec.open_min, allow_nan=False))
        if spec.max is not None:
            out.append(st.floats(min_value=spec.max, exclude_min=not spec.open_max, allow_nan=False))
        return st.one_of(out)
    if isinstance(spec, contracts.Choice):
        known = set(spec.known()) | set(spec.aliases)
        return st.one_of(st.text(max_size=8).filter(lambda t: t not in known), st.integers(), st.none())
    if isinstance(spec, contracts.Text):
        return st.one_of(st.text(alphabet=" \t\n", max_size=3), st.lists(st.text(min_size=1), min_size=1), st.integers())
    if isinstance(spec, (contracts.Texts, contracts.Strings)):
        return st.one_of(st.text(min_size=1), st.lists(st.integers(), min_size=1), st.none())
    if isinstance(spec, (contracts.Images, contracts.Tensor, contracts.Vectors, contracts.Waveform)):
        good = spec.example()
        return st.one_of(st.sampled_from([good.clone().fill_(math.nan) if good.is_floating_point() else good.float(),
                                          good.numpy(), good.tolist(), None]),
                         st.integers(min_value=1, max_value=3).map(lambda k: good.reshape(-1)[:k]
                                                                   if good.dim() > 1 else good.reshape(1, -1, 1)))
    if isinstance(spec, contracts.Maybe):
        return _bad_values(spec.spec).filter(lambda v: v is not None)
    return junk


@functools.cache
def _instances() -> tuple[object, ...]:
    """One small valid object of each type the contracts ask for (models, data sets, configs)."""
    from mmcourse import contrastive, data, instruct
    from mmcourse.data.instructions import Conversation, encode_conversations, shapes_chat_tokenizer
    from mmcourse.models import CLIP, CLIPConfig, CNNTower, FusionClassifier, FusionConfig
    from mmcourse.models.vlm import tiny_llama
    from mmcourse.train import History

    cfg = mmcourse.setup("tiny", seed=0, verbose=False)
    scenes = data.make_shapes(4, objects=(1, 2), seed=0)
    tok = shapes_chat_tokenizer()
    clip = CLIP(CLIPConfig(vision_width=16), vision_model=CNNTower((4, 8, 16)))
    vlm = instruct.new_vlm(clip, tiny_llama(tok, hidden_size=16, intermediate_size=16, heads=2))
    bundle = instruct.shapes_instructions(vlm.vision_tower, tokenizer=tok, n_train=8, n_test=4)
    qa = data.make_qa(scenes)[0]
    conversation = Conversation(0, [mmcourse.chat.user("how many objects are there?"), mmcourse.chat.assistant("1")],
                                "count", "1")
    return (cfg, scenes, History(step=[1], loss=[1.0], time=[0.1], lr=[0.1]), vlm, clip,
            FusionClassifier(FusionConfig(fusion="late", vocab_size=16)), bundle, bundle.questions,
            encode_conversations(tok, [conversation]), conversation, qa, scenes.objects(0)[0],
            torch.optim.SGD(torch.nn.Linear(2, 2).parameters(), lr=0.1), torch.nn.Linear(2, 2),
            vlm.language_model, {"words": contrastive.shapes_tokenizer(["a red circle"])},
            (torch.rand(2, 3, 32, 32), torch.tensor([[2, 4, 3, 0], [2, 5, 3, 0]])), torch.rand(4, 4), np.random.rand(4, 4),
            _wav_bytes(), "text", *_chapter04_instances(), *_chapter05_instances(),
            *_chapter06_instances())


def _chapter06_instances() -> tuple[object, ...]:
    from mmcourse.models.unified import UnifiedConfig
    from mmcourse.models.vq import VQConfig
    from mmcourse.sequences import unified_data
    from mmcourse.tokens import MultimodalVocabulary, unified_text_tokenizer

    vocab = MultimodalVocabulary(unified_text_tokenizer(), codebook_size=16, tokens_per_image=4)
    data = unified_data(mmcourse.data.make_shapes(2, seed=0), torch.zeros(2, 2, 2, dtype=torch.long))
    config = UnifiedConfig(vocab_size=len(vocab), hidden_size=16, num_hidden_layers=1, num_attention_heads=2,
                           intermediate_size=16, pad_token_id=vocab.pad, bos_token_id=vocab.bos, eos_token_id=vocab.eos)
    return vocab, data, config, VQConfig(block_out_channels=(8, 8), codebook_size=8, code_dim=4)


def _chapter05_instances() -> tuple[object, ...]:
    from mmcourse.diffusion import TextToImage
    from mmcourse.models.schedulers import NoiseSchedule
    from mmcourse.models.unet import DenoiserConfig, build_denoiser
    from mmcourse.models.vae import VAEConfig, build_vae

    schedule = NoiseSchedule.create("linear", 10)
    vae_config = VAEConfig(block_out_channels=(8, 8), norm_num_groups=4, image_size=8)
    unet_config = DenoiserConfig(block_out_channels=(8, 8), norm_num_groups=4, cross_attention_dim=8, attention_head_dim=4)
    model = TextToImage(build_vae(vae_config), build_denoiser(unet_config), schedule, tokenizer=None, text_encoder=None)
    return schedule, vae_config, unet_config, model, torch.Generator().manual_seed(0)


def _chapter04_instances() -> tuple[object, ...]:
    from mmcourse import asr, audiotext
    from mmcourse.data.sound_scenes import make_sound_captions
    from mmcourse.data.spoken_digits import DIGITS, SpokenDigits

    sounds = make_sound_captions(4, "all", seed=0)
    clap = audiotext.sounds_clap(audiotext.sounds_tokenizer(sounds.captions), channels=(4,), width=8, embed_dim=8,
                                 text_width=16, text_layers=1)
    whisper = asr.tiny_whisper(asr.WordTokenizer(DIGITS), d_model=16, layers=1, heads=2, seconds=1.0)
    digits = SpokenDigits([torch.rand(8000) - 0.5], ["one two"], ["en"])
    return sounds, clap, whisper, digits


def _wav_bytes() -> bytes:
    import io
    import wave

    buffer = io.BytesIO()
    with wave.open(buffer, "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(16000)
        w.writeframes(np.zeros(160, np.int16).tobytes())
    return buffer.getvalue()


def _example(spec: contracts.Spec) -> object:
    if isinstance(spec, contracts.Maybe):
        return _example(spec.spec)
    if isinstance(spec, contracts.ListOf):
        return [_example(spec.item)]
    if isinstance(spec, contracts.Instance):
        return next(obj for obj in _instances() if isinstance(obj, spec.types))
    if isinstance(spec, contracts.Duck):
        return next((obj for obj in _instances() if all(hasattr(obj, a) for a in spec.attrs)), spec.example())
    return spec.example()


def _call_kwargs(fn, specs: dict[str, contracts.Spec]) -> dict[str, object]:
    """Valid examples for the declared arguments, placeholders for the others (the contract
    raises before the function body, so they are never used when one argument is bad)."""
    sig = inspect.signature(fn)
    kwargs = {}
    for name, p in sig.parameters.items():
        if p.kind in (p.VAR_POSITIONAL, p.VAR_KEYWORD):
            continue
        if name in specs:
            kwargs[name] = _example(specs[name])
        elif p.default is inspect.Parameter.empty:
            kwargs[name] = object()
    return kwargs


def _refused_by_the_contract(fn, kwargs, name) -> str:
    try:
        fn(**kwargs)
    except (TypeError, ValueError) as err:
        frames = traceback.extract_tb(err.__traceback__)
        assert "mmcourse/contracts/" in frames[-1].filename, (
            f"{name}: refused from {frames[-1].filename}:{frames[-1].lineno}, not by the contract: {err}")
        return str(err)
    raise AssertionError(f"{name}={kwargs[name]!r:.80} was accepted silently")


def _sweep(fn, base, name, spec):
    """A hypothesis test: every value of ``_bad_values(spec)`` that ``spec`` refuses, the
    contract refuses too, naming ``name``."""

    @SWEEP
    @given(bad=_bad_values(spec))
    def sweep(bad):
        try:
            spec.check(bad, name)
        except (TypeError, ValueError):
            pass
        else:
            return  # a drawn value that is in fact valid (e.g. a blank list of strings the spec allows)
        message = _refused_by_the_contract(fn, {**base, name: bad}, name)
        assert name in message, message

    return sweep


CONTRACT_KEYS = sorted(k for k, c in contracts.CONTRACTS.items() if c.specs)


@pytest.mark.parametrize("key", CONTRACT_KEYS)
def test_every_declared_argument_refuses_bad_values_by_name(key):
    contract = contracts.CONTRACTS[key]
    fn = _resolve(key)  # the decorated function (a bound method for classmethods)
    base = _call_kwargs(fn, contract.specs)
    for name, spec in contract.specs.items():
        for label, bad in spec.bad():
            message = _refused_by_the_contract(fn, {**base, name: bad}, name)
            assert message.startswith(name) or f"{name}[" in message or f"{name}=" in message, (label, message)

        _sweep(fn, base, name, spec)()


# -- finite outputs from valid input -----------------------------------------------------
def _all_required_declared(fn, specs) -> bool:
    sig = inspect.signature(fn)
    return all(n in specs for n, p in sig.parameters.items()
               if p.default is inspect.Parameter.empty and p.kind not in (p.VAR_POSITIONAL, p.VAR_KEYWORD)
               and n not in ("self", "cls"))


def _finite(value) -> bool:
    if isinstance(value, torch.Tensor):
        return not value.is_floating_point() or bool(torch.isfinite(value).all())
    if isinstance(value, (float, np.floating)):
        return math.isfinite(value)
    if isinstance(value, dict):
        return all(_finite(v) for v in value.values())
    if isinstance(value, (list, tuple)):
        return all(_finite(v) for v in value)
    return True


#: Functions not called with examples: they print the run configuration, need espeak-ng, draw,
#: or train for minutes.
NOT_CALLED = ("mmcourse.runtime.setup", "mmcourse.data.sounds.speech", "mmcourse.widgets.", "mmcourse.viz.",
              "mmcourse.zoo.store.train", "mmcourse._tools.")
SELF_CONTAINED = sorted(k for k, c in contracts.CONTRACTS.items()
                        if "." not in _resolve(k).__qualname__ and not k.startswith(NOT_CALLED)
                        and _all_required_declared(_resolve(k), c.specs))


@pytest.mark.parametrize("key", [pytest.param(k, marks=pytest.mark.heavy) if k == "mmcourse.evaluation.evaluate" else k
                                 for k in SELF_CONTAINED])
def test_valid_examples_give_finite_results_or_a_clean_refusal(key, monkeypatch):
    monkeypatch.setenv("MMCOURSE_PROFILE", "tiny")
    contract = contracts.CONTRACTS[key]
    fn = _resolve(key)
    kwargs = {name: _example(spec) for name, spec in contract.specs.items()
              if name in inspect.signature(fn).parameters}
    try:
        result = fn(**kwargs)
    except (TypeError, ValueError) as err:  # examples that do not fit together (e.g. two widths)
        assert "mmcourse" in traceback.extract_tb(err.__traceback__)[-1].filename, err
        return
    assert _finite(result), f"{key}({kwargs}) gave a non-finite result: {result}"


# -- the three cases found by hand --------------------------------------------------------
def test_a_bad_profile_is_refused_even_when_the_environment_sets_one(monkeypatch):
    monkeypatch.setenv("MMCOURSE_PROFILE", "tiny")
    with pytest.raises(ValueError, match="profile must be one of"):
        mmcourse.setup("gpu-please")


def test_nan_vectors_never_enter_an_index():
    index = mmcourse.retrieval.EmbeddingIndex(4)
    with pytest.raises(ValueError, match="vectors must be a finite .* every later search would be wrong"):
        index.add(torch.full((3, 4), float("nan")))
    assert len(index) == 0


def test_int16_audio_tensors_are_refused_like_arrays():
    wave = (torch.rand(16000) * 2 - 1) * 32767
    for bad in (wave.to(torch.int16), wave.to(torch.int16).numpy()):
        with pytest.raises(TypeError, match="int16 PCM: divide by 32768 first"):
            mmcourse.audio.log_mel_spectrogram(bad)
