"""Zero-shot classification speed: the seed material's loop vs batched, cached encoding.

    .venv/bin/python benchmarks/zero_shot_speed.py [--images 200]

Loop (the seed's way): for every image, encode the image and then every class prompt,
one text at a time. Batched: encode the 30 class prompts once (cached), encode the
images in batches, one matrix product. Both use the zoo's clip-shapes model and must
predict the same classes; the script prints both times and their ratio.
"""

from __future__ import annotations

import argparse
import time

import torch

import mmcourse
from mmcourse import data, zeroshot, zoo
from mmcourse.data import PAIR_NAMES, correct_articles


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--images", type=int, default=200)
    args = parser.parse_args()
    mmcourse.setup("tiny", seed=0)
    model = zoo.load("clip-shapes")
    images = data.make_shapes(args.images, seed=5).images
    prompts = [correct_articles(f"a photo of a {c}") for c in PAIR_NAMES]  # "an orange ...", as zeroshot does

    with torch.no_grad():
        start = time.perf_counter()
        loop_pred = []
        for img in images:  # one image, then one text at a time
            image_emb = model.encode_image(img[None])
            scores = [float(image_emb @ model.encode_text([p]).T) for p in prompts]
            loop_pred.append(max(range(len(scores)), key=scores.__getitem__))
        loop_s = time.perf_counter() - start

        start = time.perf_counter()
        class_emb = zeroshot.class_embeddings(model, PAIR_NAMES, ["a photo of a {}"])  # cached once
        batched_pred = zeroshot.classify(model, images, class_emb).argmax(1).tolist()
        batched_s = time.perf_counter() - start

    agree = sum(a == b for a, b in zip(loop_pred, batched_pred)) / len(images)
    print(f"{len(images)} images x {len(prompts)} classes")
    print(f"loop:    {loop_s:.3f} s")
    print(f"batched: {batched_s:.4f} s")
    print(f"speed-up: {loop_s / batched_s:.0f}x; predictions agree on {agree:.1%} of images")


if __name__ == "__main__":
    main()
