"""Which igsed modules a rule's script runs, and a digest of them.

Snakemake re-runs a job when its script changes, not when a module the script imports
changes. The rules therefore pass `code_digest(script)` as a param: a digest of every
igsed source file the script can import, followed import by import (function-level
imports and package `__init__` files included). A change to any of them re-runs the
stage, and a change elsewhere in src/igsed does not.

Standard library only: the Snakefile imports this in Snakemake's own environment.
"""

from __future__ import annotations

import ast
import hashlib
import sys
from pathlib import Path

PACKAGE = "igsed"


def imported_modules(path: Path) -> set[str]:
    """Absolute module names imported anywhere in the Python file `path`.

    `from a import b` yields both `a` and `a.b`, since b may be a submodule.
    """
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), filename=str(path))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
            names.update(f"{node.module}.{alias.name}" for alias in node.names)
    return names


def _module_file(src: Path, module: str) -> Path | None:
    """The source file of igsed module `module` under `src`, or None (not a module)."""
    base = src.joinpath(*module.split("."))
    if base.with_suffix(".py").is_file():
        return base.with_suffix(".py")
    if (base / "__init__.py").is_file():
        return base / "__init__.py"
    return None


def package_closure(script: Path, src: Path) -> list[Path]:
    """Every igsed source file that running `script` can import, sorted.

    `src` is the directory that holds the `igsed` package. Importing igsed.a.b runs
    igsed/__init__.py, igsed/a/__init__.py and igsed/a/b.py, so all three are included.
    """
    seen: set[Path] = set()
    pending = [Path(script)]
    while pending:
        path = pending.pop()
        if path in seen:
            continue
        seen.add(path)
        for module in imported_modules(path):
            parts = module.split(".")
            if parts[0] != PACKAGE:
                continue
            for depth in range(1, len(parts) + 1):
                source = _module_file(src, ".".join(parts[:depth]))
                if source is not None:
                    pending.append(source)
    seen.discard(Path(script))
    return sorted(seen)


def third_party_imports(script: Path, src: Path) -> set[str]:
    """Top-level modules outside igsed and the standard library that `script` can import."""
    modules: set[str] = set()
    for path in [Path(script), *package_closure(script, src)]:
        for module in imported_modules(path):
            top = module.split(".")[0]
            if top != PACKAGE and top not in sys.stdlib_module_names:
                modules.add(top)
    return modules


def code_digest(script: Path, src: Path) -> str:
    """16 hex digits of sha256 over the script and the igsed files it can import."""
    digest = hashlib.sha256()
    for path in [Path(script), *package_closure(script, src)]:
        name = path.relative_to(src).as_posix() if path.is_relative_to(src) else path.name
        digest.update(name.encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()[:16]
