"""Python entry points named in config as `package.module:function` (user models, plug-in
methods): their source file, found without running them, and the import path they need."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path


def put_first_on_import_path(search_path: str | None) -> None:
    """Put a configured `search_path` first on sys.path (once), so its modules import."""
    if search_path and str(search_path) not in sys.path:
        sys.path.insert(0, str(search_path))


def entry_source_file(entry: str, search_path: str | None = None) -> Path:
    """The source file of the module of `entry` (what a checksum of the entry covers), or a
    ValueError naming the entry and what went wrong."""
    module, _, function = str(entry).partition(":")
    if not module or not function:
        raise ValueError(f"python entry {entry!r} is not 'package.module:function'")
    put_first_on_import_path(search_path)
    try:
        found = importlib.util.find_spec(module)
    except (ImportError, ValueError) as error:
        raise ValueError(f"python entry {entry!r}: module {module!r} ({error})") from error
    if found is None or found.origin is None:
        raise ValueError(
            f"python entry {entry!r}: module {module!r} not found (give its folder as search_path)"
        )
    return Path(found.origin)
