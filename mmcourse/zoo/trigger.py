"""The cheap trigger: a hash of what an entry's recipe reads, saying *when* to replay it.

The trigger never decides on its own that weights are stale; :mod:`mmcourse.zoo.replay`
does, by running the recipe at the commit that trained them and at the working tree. The
trigger only says whether anything the recipe could read has changed since it was last
replayed or trained, so that ``make test`` replays just those entries:

* the recipe (the data that says what to train, how long, with which seeds);
* every top-level statement of every mmcourse module the entry's module imports, directly or
  not, as a multiset of syntax trees: docstrings, error messages, guard clauses, argument
  contracts, imports and ``__all__`` are dropped, and so are an entry's ``description``,
  ``tolerance`` and ``replay`` overrides; statements are sorted, so moving a function between
  modules changes nothing;
* the package's data files those modules name (``spoken_digits.npz``);
* the versions of the libraries that compute (torch, numpy, transformers, diffusers, tokenizers);
* the weights of the zoo entries the recipe loads.
"""

from __future__ import annotations

import ast
import hashlib
import importlib.util
import json
from functools import cache
from pathlib import Path
from typing import Any

from ..runtime import library_versions
from .registry import ENTRIES, PACKAGE_DIR, ZOO_DIR

#: Modules (and packages, with all they hold) that cannot change a trained number: argument
#: checks, figures, the zoo's own bookkeeping.
NEUTRAL_MODULES = ("mmcourse.contracts", "mmcourse.viz", "mmcourse.widgets", "mmcourse.zoo.registry",
                   "mmcourse.zoo.store", "mmcourse.zoo.trigger", "mmcourse.zoo.replay", "mmcourse.zoo.probe",
                   "mmcourse.zoo._replay_driver")


def _neutral(module: str) -> bool:
    return any(module == m or module.startswith(m + ".") for m in NEUTRAL_MODULES)
#: Libraries whose versions can change a trained number.
LIBRARIES = ("torch", "numpy", "transformers", "diffusers", "tokenizers")
#: Keyword arguments of ``ZooEntry(...)`` that no training reads (the replay's overrides only shrink a copy).
UNREAD_FIELDS = {"description", "tolerance", "replay"}


# -- what an entry's module imports -------------------------------------------------------
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


# -- what in a module can change a number ---------------------------------------------------
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

    def visit_Assign(self, node: ast.Assign) -> Any:
        if any(isinstance(t, ast.Name) and t.id == "__all__" for t in node.targets):
            return None
        return self.generic_visit(node)

    def visit_Call(self, node: ast.Call) -> Any:
        if getattr(node.func, "id", None) == "ZooEntry":
            node.keywords = [k for k in node.keywords if k.arg not in UNREAD_FIELDS]
        return self.generic_visit(node)

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


def normalised_statements(source: str) -> list[str]:
    """The top-level statements of ``source`` that can change a number, each dumped as a syntax tree."""
    tree = _Normalise().visit(ast.parse(source))
    return [ast.dump(s, include_attributes=False) for s in tree.body]


@cache
def _module_statements(module: str) -> tuple[str, ...]:
    path = _module_path(module)
    return tuple(normalised_statements(path.read_text(encoding="utf-8"))) if path else ()


@cache
def _data_files(module: str) -> tuple[Path, ...]:
    """Package data files (not code, not zoo weights) whose names appear in ``module``'s strings."""
    path = _module_path(module)
    if path is None:
        return ()
    names = {n.value for n in ast.walk(ast.parse(path.read_text(encoding="utf-8")))
             if isinstance(n, ast.Constant) and isinstance(n.value, str)}
    return tuple(sorted(p for p in PACKAGE_DIR.rglob("*") if p.is_file() and p.name in names
                        and p.suffix != ".py" and ZOO_DIR not in p.parents))


def inputs(name: str) -> dict[str, Any]:
    """What entry ``name``'s trigger hashes, readable (for messages and tests)."""
    e = ENTRIES[name]
    modules = [m for m in dependencies(e.module) if not _neutral(m)]
    return {"recipe": e.recipe, "modules": modules,
            "data": sorted({str(p.relative_to(PACKAGE_DIR)) for m in modules for p in _data_files(m)}),
            "versions": library_versions(LIBRARIES), "uses": list(e.uses)}


def trigger(name: str) -> str:
    """The hash of everything entry ``name``'s training could read (see the module docstring)."""
    what = inputs(name)
    h = hashlib.sha256(json.dumps(what["recipe"], sort_keys=True).encode())
    for statement in sorted(s for m in what["modules"] for s in _module_statements(m)):
        h.update(hashlib.sha256(statement.encode()).digest())
    for data in what["data"]:
        h.update(data.encode() + hashlib.sha256((PACKAGE_DIR / data).read_bytes()).digest())
    h.update(json.dumps(what["versions"], sort_keys=True).encode())
    for used in what["uses"]:
        h.update(f"weights {used}:".encode() + hashlib.sha256((ZOO_DIR / used / "model.safetensors").read_bytes())
                 .digest())
    return h.hexdigest()[:16]
