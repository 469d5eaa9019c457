"""Real photos that ship inside installed packages: never a download.

scikit-image, scikit-learn and matplotlib each carry a few sample photos. They are
enough to show a real image being patchified, captioned or classified offline.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from PIL import Image

from ..contracts import Choice, Maybe, Texts, contract


@dataclass(frozen=True)
class Photo:
    """A photo with a short label and where it comes from."""

    name: str
    label: str  # what is in it, in a few words (usable as a zero-shot class)
    image: Image.Image  # RGB
    source: str  # the package and function that ships it


def _skimage(fn: str):
    def load() -> np.ndarray:
        import skimage.data

        return getattr(skimage.data, fn)()

    return load


def _sklearn(fname: str):
    def load() -> np.ndarray:
        from sklearn.datasets import load_sample_image

        return load_sample_image(fname)

    return load


def _matplotlib(fname: str):
    def load() -> np.ndarray:
        import matplotlib.cbook as cbook

        with cbook.get_sample_data(fname) as fh:
            return np.asarray(Image.open(fh).convert("RGB"))

    return load


#: name -> (label, loader, source)
CATALOG = {
    "chelsea": ("a cat", _skimage("chelsea"), "skimage.data.chelsea"),
    "astronaut": ("an astronaut", _skimage("astronaut"), "skimage.data.astronaut"),
    "coffee": ("a cup of coffee", _skimage("coffee"), "skimage.data.coffee"),
    "rocket": ("a rocket", _skimage("rocket"), "skimage.data.rocket"),
    "camera": ("a man with a camera", _skimage("camera"), "skimage.data.camera"),
    "coins": ("coins", _skimage("coins"), "skimage.data.coins"),
    "china": ("a temple", _sklearn("china.jpg"), "sklearn.datasets.load_sample_image('china.jpg')"),
    "flower": ("a flower", _sklearn("flower.jpg"), "sklearn.datasets.load_sample_image('flower.jpg')"),
    "grace_hopper": (
        "a woman in uniform",
        _matplotlib("grace_hopper.jpg"),
        "matplotlib sample_data/grace_hopper.jpg",
    ),
}


@contract(name=Choice(tuple(CATALOG)))
def photo(name: str) -> Photo:
    """Load one shipped photo by name (see ``CATALOG``) as an RGB PIL image.

    Used in: chapters 01, 05, 06
    """
    label, load, source = CATALOG[name]
    arr = np.asarray(load())
    if arr.dtype == bool:
        arr = arr.astype(np.uint8) * 255
    img = Image.fromarray(arr)
    return Photo(name=name, label=label, image=img.convert("RGB"), source=source)


@contract(names=Maybe(Texts()))
def photos(names: list[str] | None = None) -> list[Photo]:
    """Several shipped photos (default: all of ``CATALOG``).

    Used in: chapters 00, 01, 02, 03, 07
    """
    return [photo(n) for n in (names if names is not None else list(CATALOG))]
