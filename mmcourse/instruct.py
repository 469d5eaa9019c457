"""Visual instruction tuning on shapes (chapter 03): build the VLM, the data bundle, the two
training stages, and scoring. The model is :class:`mmcourse.models.vlm.VLM`.

>>> vlm = instruct.new_vlm(zoo.load("clip-shapes"), zoo.load("lm-shapes"))
>>> data = instruct.shapes_instructions(vlm.vision_tower)   # captions + VQA, features cached
>>> instruct.train_stage(vlm, data, stage=1, steps=300)     # projector only, on captions
>>> instruct.train_stage(vlm, data, stage=2, steps=600)     # projector + LM, questions + captions
>>> instruct.evaluate_vqa(vlm, data)                       # exact match per question kind
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from .contracts import Choice, Duck, Images, Instance, Int, Texts, contract, same_length
from .data import Batches, make_pope, make_qa, make_shapes
from .data.instructions import (
    InstructionSet,
    caption_conversations,
    decode_answers,
    encode_conversations,
    generation_prompts,
    qa_conversations,
    scene_words,
    shapes_chat_tokenizer,
    two_turn_conversations,
)
from .data.shapes import ShapesData
from .data.words import QA
from .metrics import vqa
from .models.clip import CLIP
from .models.vilt import vilt_inputs
from .models.vlm import CONNECTORS, VLM, PatchFeatureTower, VLMConfig
from .runtime import RunConfig
from .train import History, fit

_VLM = Instance(VLM, "build one with instruct.new_vlm(...) or zoo.load('vlm-shapes')")


@contract(clip=Instance(CLIP, "e.g. zoo.load('clip-shapes')"),
          language_model=Duck(("get_input_embeddings", "config"), "a transformers causal LM, e.g. zoo.load('lm-shapes')"),
          connector=Choice(CONNECTORS), num_queries=Int(min=1))
def new_vlm(clip: CLIP, language_model: nn.Module, *, connector: str = "mlp2x_gelu", num_queries: int = 8,
            position: float = 0.0) -> VLM:
    """The chapter's VLM: ``clip``'s CNN image tower, frozen, as 4 merged patch tokens; a
    fresh connector; ``language_model`` (trained further in stage 2); the shapes chat tokenizer.

    Used in: chapter 03
    """
    tower = PatchFeatureTower(clip.vision_model.cnn, position=position)
    tokenizer = shapes_chat_tokenizer()
    config = VLMConfig(vision_dim=tower.width, image_token_id=tokenizer.convert_tokens_to_ids("<image>"),
                       connector=connector, num_queries=num_queries)
    return VLM(config, tower, language_model, tokenizer)


@dataclass
class ShapesInstructions:
    """Everything the two stages and the evaluation need, with the tower's features cached
    (the tower is frozen, so each image goes through it once).
    """

    tokenizer: Any
    train: ShapesData
    test: ShapesData
    train_features: torch.Tensor  # (N_train, P, D_v)
    captions: InstructionSet  # stage 1
    questions: InstructionSet  # the questions alone
    mixture: InstructionSet  # stage 2: questions, two-turn chats and captions
    test_qas: list[QA]

    def __repr__(self) -> str:
        return (f"ShapesInstructions({len(self.train)} training scenes, {len(self.captions)} captions, "
                f"{len(self.questions)} questions; {len(self.test_qas)} test questions on {len(self.test)} scenes)")


@contract(tower=Instance(nn.Module), n_train=Int(min=1), n_test=Int(min=1), per_image=Int(min=1))
def shapes_instructions(tower: nn.Module, *, tokenizer: Any = None, n_train: int = 4000, n_test: int = 500,
                        per_image: int = 3, objects: tuple[int, int] = (1, 4), seed: int = 0) -> ShapesInstructions:
    """Scenes with 1-4 objects; stage-1 captions, stage-2 questions; test questions about
    unseen images (other seeds).

    Used in: chapter 03
    """
    tokenizer = tokenizer if tokenizer is not None else shapes_chat_tokenizer()
    train = make_shapes(n_train, objects=objects, seed=seed + 100)
    test = make_shapes(n_test, objects=objects, seed=seed + 101)
    qas = make_qa(train, per_image=per_image, seed=seed + 102)
    test_qas = make_qa(test, per_image=2, seed=seed + 103)
    with torch.no_grad():
        feats = torch.cat([tower(train.images[i:i + 1000]) for i in range(0, n_train, 1000)])
    captions, questions = caption_conversations(train), qa_conversations(qas)
    chats = two_turn_conversations(qas[: len(qas) // 2])  # about half the images also get a two-turn chat
    return ShapesInstructions(tokenizer, train, test, feats, encode_conversations(tokenizer, captions),
                              encode_conversations(tokenizer, questions),
                              encode_conversations(tokenizer, questions + chats + captions), test_qas)


@contract(vlm=_VLM, data=Instance(ShapesInstructions), stage=Int(min=1, max=2), steps=Int(min=1))
def train_stage(vlm: VLM, data: ShapesInstructions, *, stage: int, steps: int, lr: float = 1e-3,
                batch_size: int = 64, seed: int = 0, cfg: RunConfig | None = None, progress: bool = True,
                examples: InstructionSet | None = None, eval_fn: Callable[[nn.Module], dict] | None = None,
                eval_every: int | None = None) -> History:
    """LLaVA's stage 1 (projector only, on captions) or stage 2 (projector + LM, on the
    questions mixed with the captions, as LLaVA-1.5's mix keeps captioning data), on the
    cached tower features.

    Used in: chapter 03
    """
    vlm.set_stage(stage)
    ex = examples if examples is not None else (data.captions if stage == 1 else data.mixture)
    return fit_examples(vlm, ex, data.train_features, steps=steps, lr=lr, batch_size=batch_size, seed=seed,
                        cfg=cfg, progress=progress, eval_fn=eval_fn, eval_every=eval_every, desc=f"stage {stage}")


@contract(vlm=_VLM, examples=Instance(InstructionSet), steps=Int(min=1))
def fit_examples(vlm: VLM, examples: InstructionSet, features: torch.Tensor, *, steps: int, lr: float = 1e-3,
                 batch_size: int = 64, seed: int = 0, cfg: RunConfig | None = None, progress: bool = True,
                 eval_fn: Callable[[nn.Module], dict] | None = None, eval_every: int | None = None,
                 desc: str = "fine-tune") -> History:
    """Train whatever in ``vlm`` requires grad on tokenised conversations, reading each
    image's cached tower ``features`` (indexed by ``examples.image``).

    Used in: chapter 03
    """
    device = next(vlm.parameters()).device
    batches = Batches(examples.input_ids, examples.labels, examples.attention_mask, examples.image,
                      batch_size=batch_size, seed=seed)

    def loss_fn(model: VLM, batch: tuple[torch.Tensor, ...]) -> torch.Tensor:
        ids, labels, mask, image = batch
        T = int(mask.sum(1).max())  # rows are right-padded: drop the columns no row uses
        return model.loss(ids[:, :T], labels[:, :T], mask[:, :T], features[image.cpu()].to(device))

    return fit(vlm, batches, loss_fn=loss_fn, steps=steps, lr=lr, warmup=min(50, steps // 10),
               schedule="cosine", cfg=cfg, desc=desc, progress=progress, eval_fn=eval_fn,
               eval_every=eval_every)


@contract(vlm=_VLM, data=Instance(ShapesInstructions))
def evaluate_vqa(vlm: VLM, data: ShapesInstructions, qas: Sequence[QA] | None = None,
                 images: torch.Tensor | None = None) -> dict[str, float]:
    """Exact match (after VQA normalisation) per question kind and overall, on test questions.

    Used in: chapter 03
    """
    qas = list(qas if qas is not None else data.test_qas)
    images = images if images is not None else data.test.images
    preds = vlm.answer(images[[q.index for q in qas]], [q.question for q in qas])
    by_kind: dict[str, list[int]] = defaultdict(list)
    for q, p in zip(qas, preds):
        by_kind[q.kind].append(int(vqa.normalize_answer(p) == vqa.normalize_answer(q.answer)))
    scores = {k: sum(v) / len(v) for k, v in sorted(by_kind.items())}
    scores["all"] = vqa.exact_match(preds, [q.answer for q in qas])
    return scores


@contract(vlm=_VLM, data=Instance(ShapesInstructions), n=Int(min=1))
def caption_accuracy(vlm: VLM, data: ShapesInstructions, n: int = 200) -> float:
    """Fraction of test images whose generated caption names exactly their objects.

    Used in: chapter 03
    """
    captions = vlm.describe(data.test.images[:n])
    return vqa.caption_object_accuracy(captions, data.test.captions[:n])


@contract(vlm=_VLM, data=Instance(ShapesData), negatives=Choice(("random", "adversarial")))
def evaluate_pope(vlm: VLM, data: ShapesData, *, negatives: str = "random", seed: int = 0) -> dict[str, float]:
    """Object hallucination, POPE-style: ask about one present and one absent object per
    scene of ``data`` and score the yes/no answers (:func:`mmcourse.metrics.vqa.pope_scores`).

    Used in: chapters 03, 07
    """
    probes = make_pope(data, negatives=negatives, seed=seed)
    preds = vlm.answer(data.images[[q.index for q in probes]], [q.question for q in probes])
    return vqa.pope_scores(preds, [q.answer for q in probes])


@contract(language_model=Duck(("generate", "config"), "a transformers causal LM, e.g. zoo.load('lm-shapes')"),
          data=Instance(ShapesData))
def text_vqa_accuracy(language_model: nn.Module, tokenizer: Any, data: ShapesData, qas: Sequence[QA]) -> float:
    """Exact match of a text-only LM answering questions about scenes described in words.

    Used in: chapter 03
    """
    questions = [f"{scene_words(data.objects(q.index))} {q.question}" for q in qas]
    ids, mask = generation_prompts(tokenizer, questions, image=False)
    with torch.no_grad():
        out = language_model.eval().generate(input_ids=ids, attention_mask=mask, max_new_tokens=4, do_sample=False,
                                             eos_token_id=tokenizer.eos_token_id, pad_token_id=tokenizer.pad_token_id)
    preds = decode_answers(tokenizer, out[:, ids.shape[1]:])
    return vqa.exact_match(preds, [q.answer for q in qas])


@contract(steps=Int(min=1))
def fit_vilt(vilt: nn.Module, tokenizer: Any, images: torch.Tensor, questions: Sequence[str], answers: Sequence[str],
             image_index: torch.Tensor, vocabulary: Sequence[str], *, steps: int, lr: float = 1e-3,
             batch_size: int = 64, seed: int = 0, cfg: RunConfig | None = None, progress: bool = True) -> History:
    """Train ViLT as a classifier over ``vocabulary`` (cross-entropy on the answer's index);
    ``image_index[i]`` says which of ``images`` question i is about.

    Used in: chapter 03
    """
    index = {a: i for i, a in enumerate(vocabulary)}
    missing = sorted({a for a in answers if a not in index})
    if missing:
        raise ValueError(f"answers not in vocabulary: {missing[:5]}")
    enc = vilt_inputs(tokenizer, questions, max_text=vilt.config.max_position_embeddings)
    labels = torch.tensor([index[a] for a in answers])

    def loss_fn(model: nn.Module, batch: tuple[torch.Tensor, ...]) -> torch.Tensor:
        ids, mask, img, y = batch
        logits = model(input_ids=ids, attention_mask=mask, pixel_values=images[img.cpu()].to(ids.device)).logits
        return F.cross_entropy(logits, y)

    batches = Batches(enc["input_ids"], enc["attention_mask"], image_index, labels, batch_size=batch_size, seed=seed)
    return fit(vilt, batches, loss_fn=loss_fn, steps=steps, lr=lr, warmup=min(50, steps // 10), schedule="cosine",
               cfg=cfg, desc="ViLT", progress=progress)


@contract(same_length("images", "questions"), vilt=Instance(nn.Module), images=Images(channels=3),
          questions=Texts(), vocabulary=Texts())
@torch.no_grad()
def vilt_answer(vilt: nn.Module, tokenizer: Any, images: torch.Tensor, questions: Sequence[str],
                vocabulary: Sequence[str]) -> list[str]:
    """The highest-scoring answer from ``vocabulary`` for each (image, question).

    Used in: chapter 03
    """
    vilt.eval()
    device = next(vilt.parameters()).device
    enc = vilt_inputs(tokenizer, questions, max_text=vilt.config.max_position_embeddings)
    logits = vilt(input_ids=enc["input_ids"].to(device), attention_mask=enc["attention_mask"].to(device),
                  pixel_values=images.to(device)).logits
    return [vocabulary[i] for i in logits.argmax(-1).tolist()]
