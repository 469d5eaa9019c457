"""How fast the tiny VLM learns to answer questions about scenes of 1-4 objects, and what
helps: a language model pretrained on scenes written in words (lm-shapes) vs a random one,
and the tower's sine-cosine position table on vs off. Prints held-out exact match every
``--every`` stage-2 steps (after a 300-step stage 1).

    .venv/bin/python benchmarks/vlm_learning.py [--steps 4000] [--every 1000] [--only pretrained random position]

Chapter 03 quotes the conclusion: counting is learned in hundreds of steps; questions
that need the model to find one object among several take thousands.
"""

from __future__ import annotations

import argparse

import torch

from mmcourse import instruct, zoo
from mmcourse.data.instructions import shapes_chat_tokenizer
from mmcourse.models.vlm import VLM, PatchFeatureTower, VLMConfig, tiny_llama


def run(name: str, *, steps: int, every: int, seed: int = 0) -> None:
    torch.manual_seed(seed)
    tok = shapes_chat_tokenizer()
    cnn = zoo.load("clip-shapes").vision_model.cnn
    tower = PatchFeatureTower(cnn, position=name == "position")
    if name == "random":
        lm = tiny_llama(tok, hidden_size=64, intermediate_size=128)
    else:
        lm = zoo.load("lm-shapes")  # a new model on every load
    config = VLMConfig(vision_dim=tower.width, image_token_id=tok.convert_tokens_to_ids("<image>"))
    vlm = VLM(config, tower, lm, tok)
    data = instruct.shapes_instructions(tower, tokenizer=tok, n_train=6000, seed=seed)
    instruct.train_stage(vlm, data, stage=1, steps=300, lr=3e-3, progress=False, seed=seed)

    def eval_fn(model: VLM) -> dict[str, float]:
        return instruct.evaluate_vqa(model, data, data.test_qas[:400])

    h = instruct.train_stage(vlm, data, stage=2, steps=steps, lr=1e-3, progress=False, seed=seed,
                             eval_fn=eval_fn, eval_every=every)
    print(f"\n{name}: stage 2, {h.seconds:.0f} s")
    print("| step | " + " | ".join(k for k in h.evals[0] if k != "step") + " |")
    for e in h.evals:
        print(f"| {e['step']} | " + " | ".join(f"{v:.3f}" for k, v in e.items() if k != "step") + " |")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=4000)
    parser.add_argument("--every", type=int, default=1000)
    parser.add_argument("--only", nargs="*", default=["pretrained", "random", "position"])
    args = parser.parse_args()
    for name in args.only:
        run(name, steps=args.steps, every=args.every)


if __name__ == "__main__":
    main()
