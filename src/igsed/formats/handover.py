"""Files one stage hands to another: written with a record of what was written, read against it.

Beside every handover file (a table, a TSV, a JSON) its writer puts `<file>.check`, a small
JSON record of what it wrote: the number of lines, of bytes, and the SHA-256 of the content,
written after the file itself. A reader gets the file's text only when it matches its record,
so a file cut mid-line, halved, missing its last rows or edited is refused, as is one whose
writer was killed between the two writes (new file, old record) and one without a record
(written by an older igsed, or copied without it). The refusal names the file and the
options that rebuild it: a plain re-run would not, since the damaged file is newer than its
inputs.

Standard library only: the Snakefile imports the modules that use it.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from igsed.core.atomic import atomic_path

RECORD_SUFFIX = ".check"


class DamagedFileError(ValueError):
    """A handover file that does not match what its writer recorded (or has no record)."""


def rebuild_options(paths: Sequence[str | os.PathLike[str]]) -> str:
    """What to add to the run's snakemake command to rebuild `paths`.

    --forcerun because Snakemake sees nothing to do for a damaged file newer than its
    inputs; --rerun-incomplete because one finished by an orphaned job is still marked
    incomplete, and Snakemake refuses to force it otherwise.
    """
    return "--rerun-incomplete --forcerun " + " ".join(str(p) for p in paths)


def rebuild_hint(paths: Sequence[str | os.PathLike[str]]) -> str:
    """The sentence every refusal of a damaged or stale output ends with."""
    which = "it" if len(paths) == 1 else "them"
    return (
        f"Rebuild {which} by adding these options to the run's snakemake command: "
        f"{rebuild_options(paths)}"
    )


def record_path(path: str | os.PathLike[str]) -> Path:
    """Where the record of `path` lies: `<path>.check`."""
    return Path(f"{os.fspath(path)}{RECORD_SUFFIX}")


def _record(data: bytes) -> dict[str, Any]:
    return {
        "lines": data.count(b"\n"),
        "bytes": len(data),
        "sha256": hashlib.sha256(data).hexdigest(),
    }


def write_handover(path: str | os.PathLike[str], text: str) -> None:
    """Write `text` to `path` atomically, then its record (see the module docstring)."""
    data = text.encode("utf-8")
    with atomic_path(path) as tmp:
        tmp.write_bytes(data)
    seal(path)


def seal(path: str | os.PathLike[str]) -> None:
    """Record `path` as it is now (its writer calls this right after writing it)."""
    record = json.dumps(_record(Path(path).read_bytes()), indent=2, sort_keys=True) + "\n"
    with atomic_path(record_path(path)) as tmp:
        tmp.write_text(record, encoding="utf-8")


def _expected(path: Path) -> dict[str, Any]:
    """The record of `path`; DamagedFileError naming the file if it has none or it is unreadable."""
    record_file = record_path(path)
    if not record_file.is_file():
        raise DamagedFileError(
            f"{path} cannot be checked: its record {record_file} is missing (written by an "
            f"older igsed, or copied without it). {rebuild_hint([path])}"
        )
    try:
        record = json.loads(record_file.read_text(encoding="utf-8"))
        return {
            "lines": int(record["lines"]),
            "bytes": int(record["bytes"]),
            "sha256": str(record["sha256"]),
        }
    except (ValueError, KeyError, TypeError) as error:
        raise DamagedFileError(
            f"{path} cannot be checked: its record {record_file} is unreadable ({error}). "
            f"{rebuild_hint([path])}"
        ) from error


def read_handover(path: str | os.PathLike[str]) -> str:
    """The text of `path`, checked against its record; DamagedFileError if it does not match.

    A missing file raises FileNotFoundError, as open() does.
    """
    path = Path(path)
    data = path.read_bytes()
    expected = _expected(path)
    found = _record(data)
    if found != expected:
        raise DamagedFileError(
            f"{path} is damaged: it holds {found['lines']} lines ({found['bytes']} bytes) "
            f"where its writer wrote {expected['lines']} lines ({expected['bytes']} bytes)"
            f"{'' if found['bytes'] != expected['bytes'] else ' with other content'}; it was "
            f"cut short or changed after it was written. {rebuild_hint([path])}"
        )
    return data.decode("utf-8")


def write_handover_json(path: str | os.PathLike[str], payload: Any) -> None:
    """`payload` as indented JSON (sorted keys, like core.atomic.write_json), with its record."""
    write_handover(path, json.dumps(payload, indent=2, sort_keys=True, default=str) + "\n")


def read_handover_json(path: str | os.PathLike[str]) -> Any:
    """A JSON file written by `write_handover_json`, checked against its record."""
    text = read_handover(path)
    try:
        return json.loads(text)
    except ValueError as error:  # a record written for a damaged file
        raise DamagedFileError(
            f"{path} is not valid JSON ({error}). {rebuild_hint([path])}"
        ) from error


def damaged(path: str | os.PathLike[str], problem: str) -> DamagedFileError:
    """The error for a file that matches its record but breaks its format's promise."""
    return DamagedFileError(f"{path}: {problem}. {rebuild_hint([path])}")
