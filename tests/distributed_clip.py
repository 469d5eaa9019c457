"""Train a tiny CLIP (ViT tower: no BatchNorm, whose statistics are per process) for a few
steps and print the loss curve as JSON from rank 0. Run it plainly with ``--batch 32``, or
under ``accelerate launch --num_processes 2 --cpu`` with the same global batch, with or
without gathering the features. ``tests/test_distributed.py`` compares the curves."""

import argparse
import json

import torch

import mmcourse
from mmcourse import contrastive, data
from mmcourse.models.clip import CLIP, CLIPConfig
from mmcourse.text import TextBatcher
from mmcourse.train import distributed_state, fit

parser = argparse.ArgumentParser()
parser.add_argument("--batch", type=int, default=32, help="the global batch, over all processes")
parser.add_argument("--steps", type=int, default=15)
parser.add_argument("--no-gather", action="store_true")
args = parser.parse_args()

cfg = mmcourse.setup("tiny", seed=0, verbose=False, threads=1)
pairs = data.make_shapes(2000, split="train", seed=0)
tok = contrastive.shapes_tokenizer(pairs.captions)
torch.manual_seed(0)
model = CLIP(CLIPConfig(embed_dim=32, vision_width=32, vision_layers=1, vision_heads=2, vocab_size=tok.vocab_size,
                        context_length=12, text_width=32, text_layers=1, text_heads=2, eos_token_id=tok.vocab["[EOS]"]))
model.tokenizer = TextBatcher(tok, 12)
tokens = model.tokenizer(pairs.captions)


def loss_fn(m, batch):
    return contrastive.contrastive_loss(m, batch, gather=not args.no_gather)


history = fit(model, data.Batches(pairs.images, tokens, batch_size=args.batch, seed=0), loss_fn=loss_fn,
              steps=args.steps, lr=3e-3, cfg=cfg, progress=False)
rank, world = distributed_state()
if rank == 0:
    print(json.dumps({"world": world, "loss": history.loss}))
