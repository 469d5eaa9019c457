"""Working processors for the stand-in hub, built offline (no downloads).

Each is the library class the real repo ships (``CLIPProcessor``, ``BlipProcessor``, ...)
around a tokenizer built from a vocabulary written here, so that tokenising, padding,
chat templates and decoding run for real. Every tokenizer has exactly
:data:`VOCAB_SIZE` entries, the vocabulary of the tiny configs in :mod:`mmcourse.hub.tiny`,
so any token a random model generates decodes; special tokens sit at the ids the tiny
configs use (pad 0, bos 1, eos 3, image 999).

Processors whose class bundles a *video* processor (LLaVA-OneVision, Qwen2.5-VL,
SmolVLM) cannot be built without torchvision in transformers 5; :data:`NEEDS_TORCHVISION`
lists them and :func:`build` says so instead of failing deep inside transformers.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from ..compat import image_processor_class

VOCAB_SIZE = 1000  # == hub.tiny._TEXT["vocab_size"]
IMAGE_SIZE = 32  # the small VLM stand-ins read 32x32 images (hub/tiny.py)
PAD, BOS, EOS, IMAGE = 0, 1, 3, 999
#: Whisper's special tokens in the stand-in vocabulary, at the ids the tiny Whisper (hub/tiny.py)
#: generates with: its decoder starts at 1 and stops at 2.
WHISPER_TOKENS = {"<|endoftext|>": 2, "<|startoftranscript|>": 1, "<|en|>": 4, "<|transcribe|>": 5,
                  "<|translate|>": 6, "<|notimestamps|>": 7}
WORDS = sorted(set(
    "a an the of is are there what how many where which colour color shape in on one sentence describe "
    "photo picture image red green blue yellow purple orange circle square triangle diamond cross cat "
    "dog rocket coffee astronaut flower temple man woman coins camera objects left right top bottom small "
    "large yes no".split()))


def _fill(vocab: dict[str, int], symbols: list[str]) -> dict[str, int]:
    """Put ``symbols`` into the free ids below VOCAB_SIZE, then pad with unused entries."""
    free = (i for i in range(VOCAB_SIZE) if i not in set(vocab.values()))
    for symbol in symbols:
        if symbol not in vocab:
            vocab[symbol] = next(free)
    for i in free:
        vocab[f"[unused{i}]"] = i
    return vocab


def byte_symbols() -> list[str]:
    """GPT-2's printable stand-ins for the 256 bytes (``bytes_to_unicode``)."""
    keep = list(range(ord("!"), ord("~") + 1)) + list(range(ord("¡"), ord("¬") + 1)) + list(range(ord("®"), 256))
    extra = [b for b in range(256) if b not in keep]
    return [chr(b) for b in keep] + [chr(256 + i) for i in range(len(extra))]


def clip_tokenizer() -> Any:
    """A character-level ``CLIPTokenizer``: every byte, with and without the end-of-word mark."""
    from transformers import CLIPTokenizer

    vocab = {"<|pad|>": PAD, "<|startoftext|>": BOS, "<|unk|>": 2, "<|endoftext|>": EOS}
    symbols = [s + end for s in byte_symbols() for end in ("", "</w>")]
    return CLIPTokenizer(vocab=_fill(vocab, symbols), merges=[], unk_token="<|unk|>",
                         pad_token="<|endoftext|>", model_max_length=77)


def bert_tokenizer() -> Any:
    """A word-piece ``BertTokenizer``: a small English vocabulary and single letters."""
    from transformers import BertTokenizer

    vocab = {"[PAD]": PAD, "[DEC]": BOS, "[UNK]": 2, "[SEP]": EOS, "[CLS]": 4, "[MASK]": 5}
    letters = "abcdefghijklmnopqrstuvwxyz0123456789"
    symbols = WORDS + list(letters) + [f"##{c}" for c in letters] + list(".,?!'-")
    return BertTokenizer(vocab=_fill(vocab, symbols), bos_token="[DEC]", model_max_length=40)


def byte_tokenizer(specials: dict[str, int], **kwargs: Any) -> Any:
    """A byte-level BPE tokenizer with no merges (GPT-2/OPT/Llama/Qwen style)."""
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers
    from transformers import PreTrainedTokenizerFast

    vocab = _fill(dict(specials), byte_symbols())
    backend = Tokenizer(models.BPE(vocab=vocab, merges=[]))
    backend.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    backend.decoder = decoders.ByteLevel()
    tok = PreTrainedTokenizerFast(tokenizer_object=backend, **kwargs)
    tok.add_special_tokens({"additional_special_tokens": [s for s in specials if s not in kwargs.values()]})
    return tok


def opt_tokenizer() -> Any:
    """OPT's roles (BLIP-2, InstructBLIP): ``</s>`` starts and ends, ``<pad>`` pads."""
    return byte_tokenizer({"<pad>": PAD, "</s>": BOS, "<unk>": 2, "<image>": IMAGE},
                          bos_token="</s>", eos_token="</s>", pad_token="<pad>", unk_token="<unk>")


LLAVA_CHAT_TEMPLATE = (
    "{% for message in messages %}{% if message['role'] == 'user' %}USER: {% else %}ASSISTANT: {% endif %}"
    "{% if message['content'] is string %}{{ message['content'] }}{% else %}"
    "{% for item in message['content'] %}{% if item['type'] == 'image' %}<image>\n"
    "{% elif item['type'] == 'text' %}{{ item['text'] }}{% endif %}{% endfor %}{% endif %}"
    "{% if message['role'] == 'assistant' %}</s>{% endif %} {% endfor %}"
    "{% if add_generation_prompt %}ASSISTANT:{% endif %}"
)


def _images(name: str, **kwargs: Any) -> Any:
    return image_processor_class(name)(**kwargs)


def _square() -> dict[str, int]:
    return {"height": IMAGE_SIZE, "width": IMAGE_SIZE}


# The library's defaults for these four image processors are the real checkpoints' settings
# (ViT 224 px, mean = std = 0.5; CLIP 224 px with its own mean/std; BLIP 384 px; ViLT shortest
# edge 384, multiples of 32), so the stand-ins preprocess exactly like the real repos.
def clip() -> Any:
    from transformers import CLIPProcessor

    return CLIPProcessor(image_processor=_images("CLIPImageProcessor"), tokenizer=clip_tokenizer())


def vit() -> Any:
    return _images("ViTImageProcessor")


def blip() -> Any:
    from transformers import BlipProcessor

    return BlipProcessor(image_processor=_images("BlipImageProcessor"), tokenizer=bert_tokenizer())


def vilt() -> Any:
    from transformers import ViltProcessor

    return ViltProcessor(image_processor=_images("ViltImageProcessor"), tokenizer=bert_tokenizer())


def blip2() -> Any:
    from transformers import Blip2Processor

    return Blip2Processor(image_processor=_images("BlipImageProcessor", size=_square()),
                          tokenizer=opt_tokenizer(), num_query_tokens=4)


def instructblip() -> Any:
    from transformers import InstructBlipProcessor

    t5 = byte_tokenizer({"<pad>": PAD, "</s>": 1, "<unk>": 2, "<image>": IMAGE},
                        eos_token="</s>", pad_token="<pad>", unk_token="<unk>")
    return InstructBlipProcessor(image_processor=_images("BlipImageProcessor", size=_square()),
                                 tokenizer=t5, qformer_tokenizer=bert_tokenizer(),
                                 num_query_tokens=4)


def llava() -> Any:
    from transformers import LlavaProcessor

    images = _images("CLIPImageProcessor", size={"shortest_edge": IMAGE_SIZE}, crop_size=_square())
    tokenizer = byte_tokenizer({"<unk>": PAD, "<s>": BOS, "</s>": EOS, "<image>": IMAGE},
                               bos_token="<s>", eos_token="</s>", unk_token="<unk>", pad_token="<unk>")
    # the tiny LLaVA keeps every feature of its CLIP tower: 16 patches + the CLS token
    return LlavaProcessor(image_processor=images, tokenizer=tokenizer, patch_size=8,
                          vision_feature_select_strategy="full", num_additional_image_tokens=1,
                          chat_template=LLAVA_CHAT_TEMPLATE)


JANUS_CHAT_TEMPLATE = (
    "{% for message in messages %}{% if message['role'] == 'user' %}<|User|>: {% else %}<|Assistant|>: {% endif %}"
    "{% if message['content'] is string %}{{ message['content'] }}{% else %}"
    "{% for item in message['content'] %}{% if item['type'] == 'image' %}<image_placeholder>\n"
    "{% elif item['type'] == 'text' %}{{ item['text'] }}{% endif %}{% endfor %}{% endif %}\n\n{% endfor %}"
    "{% if add_generation_prompt %}<|Assistant|>:{% endif %}"
)


def janus() -> Any:
    """Janus-Pro's processor: 32 px images, 16 image placeholders, and its special tokens
    (``<image_placeholder>`` at 999, ``<begin_of_image>``/``<end_of_image>`` at 997/998)."""
    from transformers import JanusProcessor

    images = _images("JanusImageProcessor", size=_square(), min_size=8)
    specials = {"<|▁pad▁|>": PAD, "<｜begin▁of▁sentence｜>": BOS,
                "<｜end▁of▁sentence｜>": EOS, "<image_placeholder>": IMAGE,
                "<begin_of_image>": 997, "<end_of_image>": 998}
    names = list(specials)
    tokenizer = byte_tokenizer(specials, pad_token=names[0], bos_token=names[1], eos_token=names[2],
                               extra_special_tokens={"image_token": names[3], "boi_token": names[4],
                                                     "eoi_token": names[5]})
    return JanusProcessor(image_processor=images, tokenizer=tokenizer, chat_template=JANUS_CHAT_TEMPLATE,
                          num_image_tokens=16)


def videomae() -> Any:
    """VideoMAE's processor: resize the short side, centre-crop, normalise, per frame."""
    return _images("VideoMAEImageProcessor", size={"shortest_edge": IMAGE_SIZE}, crop_size=_square())


def xclip() -> Any:
    from transformers import XCLIPProcessor

    return XCLIPProcessor(image_processor=videomae(), tokenizer=clip_tokenizer())


def whisper() -> Any:
    """Whisper's processor for 1 s of audio (the stand-in's input length), and a byte-level
    tokenizer with Whisper's special tokens at the ids of :data:`WHISPER_TOKENS`."""
    from transformers import WhisperFeatureExtractor, WhisperProcessor, WhisperTokenizer

    vocab = _fill({"<|pad|>": PAD, **WHISPER_TOKENS}, byte_symbols())
    tokenizer = WhisperTokenizer(vocab=vocab, merges=[], pad_token="<|endoftext|>")
    tokenizer.add_special_tokens({"additional_special_tokens": [t for t in WHISPER_TOKENS if t != "<|endoftext|>"]})
    return WhisperProcessor(feature_extractor=WhisperFeatureExtractor(feature_size=80, chunk_length=1),
                            tokenizer=tokenizer)


def clap() -> Any:
    """CLAP's processor: 48 kHz log-mel (64 bins) over 1 s windows with a 960-sample hop, so the
    stand-in's 64-frame spectrogram input holds it (the released one reads 10 s with a 480 hop),
    and RoBERTa's byte-level tokenizer roles (``<s>`` starts, ``</s>`` ends, ``<pad>`` pads)."""
    from transformers import ClapFeatureExtractor, ClapProcessor, RobertaTokenizer

    vocab = _fill({"<s>": 0, "<pad>": 1, "</s>": 2, "<unk>": 3, "<mask>": 4}, byte_symbols())  # RoBERTa's ids
    features = ClapFeatureExtractor(feature_size=64, sampling_rate=48000, max_length_s=1, hop_length=960,
                                    truncation="rand_trunc")
    return ClapProcessor(feature_extractor=features, tokenizer=RobertaTokenizer(vocab=vocab, merges=[]))


#: registry name -> the processor saved beside its stand-in checkpoint.
BUILDERS: dict[str, Callable[[], Any]] = {
    "clip-b16": clip, "clip-b32": clip, "vit-b16": vit, "blip-caption-base": blip, "vilt-vqa": vilt,
    "blip2-opt-2.7b": blip2, "instructblip-flan-t5-xl": instructblip, "llava-1.5-7b": llava,
    "videomae-kinetics": videomae, "xclip-b32": xclip, "whisper-tiny": whisper, "whisper-base": whisper,
    "janus-pro-1b": janus, "clap-htsat-unfused": clap,
}
#: processors that bundle a video processor, which transformers 5 builds only with torchvision.
NEEDS_TORCHVISION = ("llava-onevision-0.5b", "qwen2.5-vl-3b", "smolvlm-256m")


def build(name: str) -> Any | None:
    """The stand-in processor for registry entry ``name``, or None when it has none here."""
    builder = BUILDERS.get(name)
    return None if builder is None else builder()
