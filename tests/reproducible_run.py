"""A short run of chapter 00's CNN and of chapter 02's CLIP, printed as JSON: the test
``tests/test_reproducibility.py`` runs it twice, and pinned to one core, and compares."""

import json

import torch

import mmcourse
from mmcourse import contrastive, data, metrics, zeroshot
from mmcourse.models import CNNConfig, SmallCNN
from mmcourse.train import fit

cfg = mmcourse.setup("tiny", seed=0, verbose=False)
train, test = data.make_shapes(3000, seed=0), data.make_shapes(500, seed=1)
cnn = SmallCNN(CNNConfig(num_classes=30))
h = fit(cnn, data.Batches(train.images, train.label("pair"), batch_size=128, seed=0), steps=100, cfg=cfg,
        progress=False)
out = {"cnn_final_loss": h.final_loss,
       "cnn_accuracy": metrics.accuracy(metrics.predict(cnn, test.images), test.label("pair"))}
torch.manual_seed(0)
pairs = data.make_shapes(4000, split="train", seed=0)
clip = contrastive.shapes_clip(contrastive.shapes_tokenizer(pairs.captions))
h = fit(clip, data.Batches(pairs.images, clip.tokenizer(pairs.captions), batch_size=64, seed=0),
        loss_fn=contrastive.contrastive_loss, steps=60, lr=2e-3, cfg=cfg, progress=False)
out["clip_final_loss"] = h.final_loss
out["clip_zero_shot"] = zeroshot.pair_accuracy(clip, test.images, test.label("pair"))
out["threads"] = cfg.threads
print(json.dumps(out))
