"""Zoo entries and their registry; the hash that says whether shipped weights are stale.

An entry registers itself from ``zoo/entries/chNN.py``: its recipe (data, model, training
settings in steps), how to build the model from a stored config, and how to train it.
:func:`source_hash` covers everything that can change the trained numbers: the recipe, the
code of every mmcourse module the entry's module imports (transitively), and the weights
of the zoo entries it loads. Code is hashed as its syntax tree without docstrings, guard
clauses (``if ...: raise ...``), bare validation calls (``check_images(x)``), error messages,
argument contracts and import statements (the imported modules are hashed themselves), so
adding a check or rewording a message does not make weights stale; modules that only check arguments or draw (:data:`NEUTRAL_MODULES`) are left out.
"""

from __future__ import annotations

import ast
import hashlib
import importlib.util
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

import torch

from ..runtime import RunConfig

ZOO_DIR = Path(__file__).resolve().parent
PACKAGE_DIR = ZOO_DIR.parent
#: Modules that cannot change a trained number: argument checks, figures, the zoo's own bookkeeping.
NEUTRAL_MODULES = {"mmcourse.contracts", "mmcourse.viz", "mmcourse.widgets", "mmcourse.zoo.registry",
                   "mmcourse.zoo.store"}


@dataclass(frozen=True)
class ZooEntry:
    """A named recipe: ``build(config) -> model`` and ``run(recipe, cfg, progress) -> (model, metrics)``."""

    name: str
    description: str
    chapter: str
    recipe: dict[str, Any]
    build: Callable[[dict[str, Any]], torch.nn.Module]
    config_dict: Callable[[torch.nn.Module], dict[str, Any]]
    run: Callable[..., tuple[torch.nn.Module, dict[str, float]]]
    tolerance: dict[str, float]  # allowed |retrained - stored| per metric
    module: str  # the entries module that registered it (its code is hashed)
    uses: tuple[str, ...] = field(default=())  # zoo entries whose weights the recipe loads

    def train(self, *, cfg: RunConfig | None = None, progress: bool = True
              ) -> tuple[torch.nn.Module, dict[str, float]]:
        return self.run(self.recipe, cfg=cfg, progress=progress)


ENTRIES: dict[str, ZooEntry] = {}


def register(entry: ZooEntry) -> ZooEntry:
    """Add an entry to the registry (once per name)."""
    if entry.name in ENTRIES:
        raise ValueError(f"zoo entry {entry.name!r} is registered twice")
    ENTRIES[entry.name] = entry
    return entry


# -- what the weights depend on -------------------------------------------------------
def _module_path(module: str) -> Path | None:
    try:
        spec = importlib.util.find_spec(module)
    except (ImportError, ValueError):  # "package.attribute": not a module
        return None
    return Path(spec.origin) if spec and spec.origin and spec.origin.endswith(".py") else None


def _imported_modules(module: str, path: Path) -> set[str]:
    """mmcourse modules imported anywhere in ``path`` (relative imports resolved)."""
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parts = package.split(".")
                parts = parts[: len(parts) - (node.level - 1)]
                base = ".".join(parts + ([node.module] if node.module else []))
            candidates = [f"{base}.{a.name}" if _module_path(f"{base}.{a.name}") else base for a in node.names]
        elif isinstance(node, ast.Import):
            candidates = [a.name for a in node.names]
        else:
            continue
        found |= {c for c in candidates if c.startswith("mmcourse") and _module_path(c) is not None}
    return found


def dependencies(module: str) -> list[str]:
    """Every mmcourse module ``module`` imports, directly or not (itself included)."""
    todo, seen = [module], set()
    while todo:
        m = todo.pop()
        if m in seen:
            continue
        seen.add(m)
        path = _module_path(m)
        if path is not None:
            todo += sorted(_imported_modules(m, path) - seen)
    return sorted(seen)


class _Normalise(ast.NodeTransformer):
    """Drops what cannot change a trained number: docstrings, error messages, contracts."""

    def _strip_docstring(self, node: Any) -> Any:
        body = node.body
        if body and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant) \
                and isinstance(body[0].value.value, str):
            node.body = body[1:] or [ast.Pass()]
        return node

    def visit_Module(self, node: ast.Module) -> Any:
        return self.generic_visit(self._strip_docstring(node))

    def visit_ClassDef(self, node: ast.ClassDef) -> Any:
        return self.generic_visit(self._strip_docstring(node))

    def visit_FunctionDef(self, node: ast.FunctionDef) -> Any:
        node.decorator_list = [d for d in node.decorator_list
                               if not (isinstance(d, ast.Call) and getattr(d.func, "id", "") == "contract")]
        return self.generic_visit(self._strip_docstring(node))

    def visit_Import(self, node: ast.Import) -> Any:
        return None  # what a module imports is in the dependency set; the code that uses it is hashed

    def visit_ImportFrom(self, node: ast.ImportFrom) -> Any:
        return None

    def visit_Expr(self, node: ast.Expr) -> Any:
        call = node.value
        if isinstance(call, ast.Call):
            name = getattr(call.func, "id", None) or getattr(call.func, "attr", "")
            if name.startswith(("check", "_check")):
                return None  # a validation call whose result is not used
        return self.generic_visit(node)

    def visit_If(self, node: ast.If) -> Any:
        if not node.orelse and all(isinstance(n, ast.Raise) for n in node.body):
            return None  # a guard clause: valid inputs never take it
        return self.generic_visit(node)

    def visit_Raise(self, node: ast.Raise) -> Any:
        return ast.Raise(exc=None, cause=None)


@cache
def _module_digest(module: str) -> str:
    path = _module_path(module)
    if path is None:
        return ""
    tree = _Normalise().visit(ast.parse(path.read_text(encoding="utf-8")))
    return hashlib.sha256(ast.dump(tree, include_attributes=False).encode()).hexdigest()


def source_hash(name: str) -> str:
    """The hash of everything entry ``name``'s trained numbers depend on."""
    e = ENTRIES[name]
    h = hashlib.sha256(json.dumps(e.recipe, sort_keys=True).encode())
    for module in dependencies(e.module):
        if module not in NEUTRAL_MODULES:
            h.update(f"{module}:{_module_digest(module)}".encode())
    for used in e.uses:
        h.update(f"weights {used}:".encode() + hashlib.sha256((ZOO_DIR / used / "model.safetensors").read_bytes())
                 .hexdigest().encode())
    return h.hexdigest()[:16]
