# ---
# jupyter:
#   jupytext:
#     formats: ipynb,py:percent
#   kernelspec:
#     display_name: Python 3
#     language: python
#     name: python3
# ---

# %% [markdown]
# # Chapter 00 — Getting started
#
# [![Open In Colab](https://colab.research.google.com/assets/colab-badge.svg)](https://colab.research.google.com/github/mmcourse/mmcourse/blob/main/chapters/00_getting_started.ipynb)
#
# Welcome to **mmcourse**, a hands-on course on multimodal AI: models that see, read,
# listen and draw. In every chapter you build a system, watch it learn in front of you,
# and check it against the library you would use at work.
#
# **In this chapter you will**
# 1. run the course on your machine (laptop, JupyterLab or Colab) and meet its two *profiles*;
# 2. generate the course's own data set of coloured shapes, with captions and questions;
# 3. train your first model in a few seconds, with a progress bar and a loss curve, and
#    measure its accuracy;
# 4. load models from the tiny *zoo* and the *hub* registry of real checkpoints;
# 5. learn how graded exercises and checks work.

# %% [markdown]
# ## Running the course
#
# * **Laptop**: `git clone` the repository, then `make lab` sets up a virtual environment
#   on first use and opens the chapters in JupyterLab.
# * **Colab**: click the badge above. The next cell installs the course package when it
#   sees it is running on Colab, and does nothing anywhere else.

# %%
import subprocess
import sys

try:  # google.colab exists only on Colab
    import google.colab  # noqa: F401

    IN_COLAB = True
except ImportError:
    IN_COLAB = False
if IN_COLAB:
    subprocess.run([sys.executable, "-m", "pip", "install", "-q",
                    "mmcourse @ git+https://github.com/mmcourse/mmcourse"], check=True)

# %% [markdown]
# The next cell holds the notebook's **parameters**. `PROFILE` chooses how big the models are:
#
# | profile | where | what runs |
# |---|---|---|
# | `tiny` | any CPU, offline | small models trained right here in seconds, on data generated or shipped with Python packages |
# | `full` | a GPU with internet (a free Colab T4 is enough) | the real pretrained checkpoints, through the *same* code |
#
# `"auto"` picks `full` only when a CUDA GPU is present and the hub is reachable
# (`HF_HUB_OFFLINE` is not set). The environment variable `MMCOURSE_PROFILE` overrides it.

# %% tags=["parameters"]
PROFILE = "auto"
SEED = 0
TRAIN_STEPS = 300  # optimiser steps for the first model (a few seconds on a laptop)

# %%
import matplotlib.pyplot as plt
import torch
import transformers

import mmcourse
from mmcourse import data, hub, metrics, viz, zoo
from mmcourse.models import CNNConfig, SmallCNN, count_parameters
from mmcourse.train import fit

cfg = mmcourse.setup(PROFILE, seed=SEED)

# %% [markdown]
# `setup` resolved the profile, seeded Python, NumPy and torch, and chose a device and a
# number format (*dtype*): 32-bit floats on a CPU, 16-bit on a GPU (`bfloat16` where the
# card supports it natively, `float16` on older cards such as the T4). Every chapter
# passes `cfg` around instead of writing `"cuda"` anywhere, so the same notebook runs
# on your laptop and on a GPU.

# %%
cfg.to_dict()

# %% [markdown]
# ## The data: coloured shapes that come with words
#
# Multimodal models learn from *pairs*: an image and its caption, a clip and its
# transcript. Downloading real pairs takes hours, so the course generates its own:
# scenes of coloured shapes, each with a caption, attributes and questions. Six colours
# times five shapes make 30 combinations, and every image is reproducible from its seed.

# %%
train_set = data.make_shapes(6000, seed=SEED)
test_set = data.make_shapes(1000, seed=SEED + 1)

N, C, H, W = train_set.images.shape  # (images, channels, height, width)
print(f"{N} training images of {C}x{H}x{W}, pixel values in "
      f"[{train_set.images.min():.2f}, {train_set.images.max():.2f}]")
assert (N, C, H, W) == (6000, 3, 32, 32), f"expected 6000 images of 3x32x32; got {(N, C, H, W)}"

viz.image_grid(train_set.images[:16], train_set.captions[:16], ncols=8);

# %% [markdown]
# Scenes can hold several objects, and every scene comes with questions of five kinds
# (colour, shape, count, position, yes/no). Later chapters train models that answer them.

# %%
multi = data.make_shapes(8, objects=(2, 4), seed=SEED)
qa = data.make_qa(multi, seed=SEED)
viz.image_grid(multi.images, [f"{q.question}\n→ {q.answer}" for q in qa], ncols=4, size=2.2);

# %% [markdown]
# A few real photos ship *inside* Python packages (scikit-image, scikit-learn,
# matplotlib), so the course can show real images without downloading anything.

# %%
photos = data.real.photos(["chelsea", "astronaut", "coffee", "rocket"])
viz.image_grid([p.image for p in photos], [f"{p.name}: {p.label}" for p in photos], ncols=4, size=2.2);

# %% [markdown]
# ## Your first model: a small convolutional network
#
# A convolutional network slides small learned filters over the image; stacking a few
# conv → normalise → activate → pool blocks turns pixels into a short vector of
# features, and a linear layer turns that into one score per class. Here the classes are
# the 30 colour–shape pairs ("red circle", "blue cross", ...).
#
# Every model in the course is defined in the `mmcourse` package, one module per idea;
# `viz.show_source` shows you the code without copying it into the notebook. Here are the
# three conv blocks (convolution 3×3 → BatchNorm → GELU → 2×2 max-pool), the global
# average pool and the linear head:

# %%
viz.show_source(SmallCNN);

# %%
target = "pair"
classes = train_set.class_names(target)
model = SmallCNN(CNNConfig(num_classes=len(classes)))
n_params = count_parameters(model)
print(f"{len(classes)} classes, {n_params:,} parameters")
assert round(n_params, -3) == 26_000, f"the summary below says 26k parameters; counted {n_params:,}"

# %% [markdown]
# `mmcourse.train.fit` is the one training loop the whole course uses. It takes the
# model, a stream of batches and a budget **in steps**: with the same seed, the same steps
# give the same numbers on every machine; a slower laptop just takes longer. Each step sets
# the learning rate (`lr_at`), runs one `train_step` (loss, backward, clip, update), and
# records the loss; now and then it evaluates. Here is the whole loop:

# %%
viz.show_source(fit);

# %%
x_test, y_test = test_set.images, test_set.label(target)


def evaluate(model):
    return {"test accuracy": metrics.accuracy(metrics.predict(model, x_test), y_test)}


batches = data.Batches(train_set.images, train_set.label(target), batch_size=128, seed=SEED)
history = fit(model, batches, steps=TRAIN_STEPS, lr=3e-3, cfg=cfg, eval_fn=evaluate, eval_every=100,
              desc="SmallCNN")
viz.plot_history(history, title="the loss falls as the network learns");

# %%
acc = history.final_eval["test accuracy"]
mmcourse.log_metric("test_accuracy", acc)
print(f"{history.steps} steps in {history.seconds:.1f} s -> test accuracy {acc:.1%} "
      f"(chance is {1 / len(classes):.1%})")
assert acc >= 0.95, f"the text claims over 95% test accuracy; measured {acc:.1%}"
assert history.final_loss < history.loss[0] / 5, (
    f"the text claims the loss falls at least five-fold; {history.loss[0]:.3f} -> {history.final_loss:.3f}")

# %% [markdown]
# It learned: from chance (about 3 %) to over 95 % on scenes it has never seen, in
# a few hundred steps. The mistakes, shown first in red, are worth a look: are the shapes small?
# Is the colour close to another one?

# %%
logits = metrics.predict(model, x_test)
pred = logits.argmax(1)
wrong = (pred != y_test).nonzero().flatten().tolist()
show = (wrong[:8] + list(range(16)))[:16]
viz.image_grid(x_test[show], [classes[int(pred[i])] for i in show], ncols=8,
               colors=["red" if pred[i] != y_test[i] else "green" for i in show],
               title="predictions (red = wrong)");

# %% [markdown]
# A **confusion matrix** counts, for each true class (row), how often each class was
# predicted (column). Here we fold the 30 pairs into the 5 shapes: the off-diagonal
# cells show which shapes the network confuses.

# %%
shape_of = torch.tensor([classes.index(c) % len(data.SHAPES) for c in classes])
cm = metrics.confusion_matrix(shape_of[pred], shape_of[y_test], len(data.SHAPES))
viz.heatmap(cm, data.SHAPES, data.SHAPES, fmt="d", xlabel="predicted", ylabel="true");
shape_acc = int(cm.trace()) / len(y_test)
assert shape_acc >= 0.95, f"the diagonal should hold at least 95% of the scenes; it holds {shape_acc:.1%}"

# %% [markdown]
# ### Play with it
#
# Draw a scene of your own and see what the network thinks. (In a live notebook you get
# sliders and menus; in a static copy, a few example settings.)

# %%
def draw_and_classify(color="red", shape="circle", radius=8.0):
    image = data.scene([(color, shape)], radius=radius, seed=SEED)
    probs = metrics.predict(model, image[None]).softmax(-1)[0]
    top = probs.topk(5)
    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(7, 2.6), gridspec_kw={"width_ratios": [1, 2]})
    ax1.imshow(viz.to_numpy_image(image), interpolation="nearest")
    ax1.set_title(f"{color} {shape}")
    ax1.axis("off")
    ax2.barh([classes[int(i)] for i in top.indices], top.values.numpy())
    ax2.invert_yaxis()
    ax2.set_xlim(0, 1)
    ax2.set_title("top-5 probabilities")
    fig.tight_layout()
    return fig


mmcourse.widgets.demo(
    draw_and_classify,
    {"color": list(data.COLORS), "shape": list(data.SHAPES), "radius": (5.0, 10.0, 0.5)},
    examples=[{"color": "blue", "shape": "triangle", "radius": 8.0},
              {"color": "orange", "shape": "cross", "radius": 6.0}],
);

# %% [markdown]
# ## The zoo and the hub
#
# Later chapters build on earlier ones. Rather than retraining everything, they load
# small checkpoints from the course's **zoo**: each entry ships inside the package with
# the recipe that trained it and the metrics it reached. The `shapes-cnn` entry is the
# model you just trained, with the same recipe:

# %%
stored = zoo.meta("shapes-cnn")
zoo_model = zoo.load("shapes-cnn", cfg)
zoo_acc = metrics.accuracy(metrics.predict(zoo_model, x_test), y_test)
print(f"zoo checkpoint: {zoo_acc:.1%} on our test set (recorded when trained: "
      f"{stored['metrics']['test_accuracy']:.1%}); recipe: {stored['recipe']['train']}")
assert abs(zoo_acc - stored["metrics"]["test_accuracy"]) < 0.02, (
    f"the zoo model should reach its recorded accuracy; {zoo_acc:.1%} vs {stored['metrics']['test_accuracy']:.1%}")

# %% [markdown]
# The **hub** registry lists the real pretrained checkpoints the full profile uses, with
# their size, licence and an estimate of the GPU memory they need.

# %%
hub.table();

# %% [markdown]
# `hub.load(name, cfg)` is the one way chapters get a pretrained model. In the full
# profile it downloads the real weights in the right precision; in the tiny profile it
# builds the **same library class** from a tiny configuration with random weights, so
# every line of code that uses it still runs (only the answers are meaningless).

# %%
clip = hub.load("clip-b32", cfg)
print(type(clip).__name__, f"{count_parameters(clip):,} parameters")
assert isinstance(clip, transformers.CLIPModel), f"hub.load must give the library class; got {type(clip).__name__}"

# %% [markdown]
# ## Exercises and checks
#
# Each chapter comes with graded exercises in `exercises/NN_name.ipynb`. You write a
# function; a **check** then calls it on random inputs and compares it with the
# course's reference implementation, printing one clear line. Here is a check passing
# (we hand it the reference itself) and the same check catching a classic mistake:

# %%
mmcourse.check("metrics.accuracy", metrics.accuracy)


def buggy_accuracy(logits, labels):
    return (logits.argmax(0) == labels).float().mean()  # wrong axis!


result = mmcourse.checks.run("metrics.accuracy", buggy_accuracy)
print("buggy version:", result.message)
assert not result.passed, "the check must catch the wrong axis"
assert "argmax(dim=1)" in result.message, f"the hint should name the fix; it says: {result.message}"

# %% [markdown]
# Your exercises live in `exercises/00_getting_started.ipynb`: replace each
# `raise NotImplementedError(...)` with your code and run the check below it. To grade all
# your exercises at once, run from a terminal:
#
# ```bash
# python -m mmcourse grade exercises/00_getting_started.ipynb
# ```
#
# It runs the notebook in a fresh kernel, prints a score table and exits with status 0
# only when every check passes.
#
# ## Summary
#
# * `mmcourse.setup` picks the profile, device and precision; the same notebook runs on a
#   CPU and a GPU.
# * `data.make_shapes` makes images with captions, attributes and questions, in seconds.
# * `fit` trained a 26k-parameter network to over 95 % accuracy on 30 classes in 300 steps;
#   budgets in steps give the same result on every machine.
# * `zoo` holds small trained checkpoints; `hub` lists and loads the real ones.
# * Exercises are checked against the package; `python -m mmcourse grade` scores them.
#
# **Next:** chapter 01 turns text, images, audio and video into tensors.
