"""code_digest: a rule re-runs when a module its script imports changes, and only then."""

from __future__ import annotations

from pathlib import Path

from support.workflow import REPO

from igsed.pipeline.code_digest import code_digest, package_closure, third_party_imports

SCRIPTS = REPO / "workflow" / "scripts"
SRC = REPO / "src"


def _write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


def _toy_package(root: Path) -> Path:
    """src/igsed with a chain a -> b (function-level import), c unrelated, sub.d via a."""
    src = root / "src"
    _write(src / "igsed" / "__init__.py", "")
    _write(src / "igsed" / "a.py", "import numpy\nfrom igsed.sub import d\n")
    _write(src / "igsed" / "b.py", "import os\n")
    _write(src / "igsed" / "c.py", "import scaper\n")
    _write(src / "igsed" / "sub" / "__init__.py", "")
    _write(src / "igsed" / "sub" / "d.py", "def f():\n    from igsed import b\n    return b\n")
    return src


def test_closure_follows_imports_into_functions_and_packages(tmp_path: Path) -> None:
    src = _toy_package(tmp_path)
    script = _write(tmp_path / "script.py", "import sys\nfrom igsed.a import thing\n")
    names = [p.relative_to(src).as_posix() for p in package_closure(script, src)]
    assert names == [
        "igsed/__init__.py",
        "igsed/a.py",
        "igsed/b.py",
        "igsed/sub/__init__.py",
        "igsed/sub/d.py",
    ]
    assert third_party_imports(script, src) == {"numpy"}


def test_digest_changes_with_imported_code_only(tmp_path: Path) -> None:
    src = _toy_package(tmp_path)
    script = _write(tmp_path / "script.py", "from igsed.a import thing\n")
    before = code_digest(script, src)
    (src / "igsed" / "c.py").write_text("import scaper  # unrelated edit\n")
    assert code_digest(script, src) == before
    (src / "igsed" / "b.py").write_text("import os  # imported two levels down\n")
    after_b = code_digest(script, src)
    assert after_b != before
    script.write_text("from igsed.a import thing  # the script itself\n")
    assert code_digest(script, src) != after_b


def test_pipeline_stages_see_their_own_modules() -> None:
    def closure(script: str) -> set[str]:
        return {
            p.relative_to(SRC / "igsed").as_posix() for p in package_closure(SCRIPTS / script, SRC)
        }

    attribute = closure("attribute.py")
    assert {"methods/fused.py", "attribution/attribute.py", "models/cnn14.py"} <= attribute
    assert "synthesis/synthesize.py" not in attribute and "core/metrics.py" not in attribute
    evaluate = closure("evaluate.py")
    assert "core/metrics.py" in evaluate and "models/cnn14.py" not in evaluate
    assert "core/scaper_compat.py" in closure("synthesize.py")
    assert "scaper" not in third_party_imports(SCRIPTS / "backbone.py", SRC)
