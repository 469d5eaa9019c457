"""What every public function accepts, checked before it runs.

A learner who passes a NumPy array, a PIL image, uint8 pixels, one string where a list
is expected, or int16 audio gets a ``TypeError``/``ValueError`` that names the argument,
says what was expected and how to fix it -- not a stack trace from deep inside torch.

Each public function declares its arguments with :func:`contract`::

    @contract(images=Images(channels=3), k=Int(min=1))
    def search(images, k): ...

The declaration is checked on every call (the arguments a caller passed; defaults are
trusted) and recorded in :data:`CONTRACTS`, where ``tests/test_contracts.py`` reads it: a
public function without a contract fails that test, and a property-based sweep feeds
every declared argument the bad values its :class:`Spec` lists.
"""

from .arrays import Images, Tensor, Vectors, Waveform, check_images
from .decorator import CONTRACTS, Contract, check_names, contract, same_length
from .sequences import ListOf, Strings, Text, Texts
from .specs import Bool, Choice, Duck, Float, Function, Instance, Int, IntRange, Maybe, Spec

__all__ = ["CONTRACTS", "Bool", "Choice", "Contract", "Duck", "Float", "Function", "Images", "Instance", "Int",
           "IntRange", "ListOf", "Maybe", "Spec", "Strings", "Tensor", "Text", "Texts", "Vectors", "Waveform",
           "check_images", "check_names", "contract", "same_length"]
