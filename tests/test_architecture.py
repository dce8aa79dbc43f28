"""The tree shows the architecture: layers bottom up, stage packages apart, thin packages.

core -> formats -> models -> methods (the method library) -> stage packages (one per
rules/*.smk file); pipeline/, explain/ and cli.py sit on top. A lower layer never imports a
higher one, a stage package never imports another stage package (stages talk through files),
explain/ uses the layers only (it runs the method library, not the attribution stage), and
every __init__.py is a docstring only.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest
from support.workflow import REPO

from igsed.pipeline.code_digest import imported_modules, package_closure

SRC = REPO / "src" / "igsed"
LAYERS = {"core": 0, "formats": 1, "models": 2, "methods": 3}
STAGES = (
    "soundbank",
    "synthesis",
    "training",
    "instances",
    "attribution",
    "sanity",
    "faithfulness",
    "evaluation",
    "conditions",
)
# On top: nothing below imports them. explain runs the method library, like the stages.
TOP = ("pipeline", "explain", "cli")
USES_LAYERS_ONLY = (*STAGES, "explain")
SCRIPTS = REPO / "workflow" / "scripts"


def _package(path: Path) -> str:
    return path.relative_to(SRC).parts[0].removesuffix(".py")


def _igsed_imports(path: Path) -> set[str]:
    return {
        module.split(".")[1]
        for module in imported_modules(path)
        if module.startswith("igsed.") and len(module.split(".")) > 1
    }


MODULES = sorted(p for p in SRC.rglob("*.py") if p.parent != SRC or p.name == "cli.py")


def test_every_package_is_known() -> None:
    packages = {p.name for p in SRC.iterdir() if p.is_dir() and p.name != "__pycache__"}
    assert packages == set(LAYERS) | set(STAGES) | {"pipeline", "explain"}
    assert sorted(p.name for p in SRC.glob("*.py")) == ["__init__.py", "cli.py"]


def test_stage_packages_are_named_like_their_rule_files() -> None:
    rule_files = {p.stem for p in (REPO / "rules").glob("*.smk")} - {"common"}
    assert rule_files == set(STAGES)


@pytest.mark.parametrize("path", MODULES, ids=lambda p: str(p.relative_to(SRC)))
def test_imports_follow_the_layers(path: Path) -> None:
    package = _package(path)
    for target in _igsed_imports(path):
        if package in LAYERS:
            assert target in LAYERS and LAYERS[target] <= LAYERS[package], (
                f"{path.relative_to(SRC)} (layer {package}) imports igsed.{target}"
            )
        elif package in USES_LAYERS_ONLY:
            assert target in LAYERS or target == package, (
                f"{package} imports igsed.{target}: stages talk through files"
            )
        assert target not in TOP or package in TOP, f"{path} imports igsed.{target}"


def test_every_init_is_a_docstring_only() -> None:
    for init in SRC.rglob("__init__.py"):
        body = ast.parse(init.read_text(encoding="utf-8")).body
        assert len(body) == 1 and isinstance(body[0], ast.Expr), init
        assert isinstance(body[0].value, ast.Constant) and isinstance(body[0].value.value, str)


def test_no_module_imports_snakemake() -> None:
    for path in MODULES:
        assert not any(m.split(".")[0] == "snakemake" for m in imported_modules(path)), path


def test_every_rule_has_a_script_named_like_it_and_no_sys_path_preamble() -> None:
    rules = {
        match.group(1)
        for smk in (REPO / "rules").glob("*.smk")
        for match in re.finditer(r"^(?:rule|checkpoint) (\w+):", smk.read_text(), re.MULTILINE)
    }
    # A condition's variant of a rule runs that rule's script (rules/conditions.smk).
    variants = {rule for rule in rules if rule.endswith("_condition")}
    assert {rule.removesuffix("_condition") for rule in variants} <= rules
    assert rules - variants == {script.stem for script in SCRIPTS.glob("*.py")}
    for script in SCRIPTS.glob("*.py"):
        text = script.read_text(encoding="utf-8")
        assert "sys.path" not in text, f"{script.name}: rules/common.smk sets PYTHONPATH"


@pytest.mark.parametrize(
    "rule", ["cache_features", "train_head", "classify", "table1", "attribute"]
)
def test_downstream_rules_do_not_digest_pretraining_or_download_code(rule: str) -> None:
    closure = {
        p.relative_to(SRC).as_posix() for p in package_closure(SCRIPTS / f"{rule}.py", SRC.parent)
    }
    forbidden = {
        "training/backbone.py",
        "training/pretrain.py",
        "training/panns.py",
        "core/download.py",
    }
    assert not closure & forbidden, f"rule {rule} digests {sorted(closure & forbidden)}"


def test_the_method_names_are_listed_once() -> None:
    """The catalogue (core/methods.py) is the one list of method names: no other file of
    the package, the rules or the schema spells the whole list out again (the registry and
    the schema's parameter entries are keyed by name and checked against it)."""
    from igsed.core.methods import METHOD_NAMES

    pattern = re.compile(r"\W+".join(re.escape(name) for name in METHOD_NAMES))
    places = [
        path
        for path in [
            *SRC.rglob("*.py"),
            *(REPO / "rules").glob("*.smk"),
            REPO / "Snakefile",
            REPO / "workflow" / "schemas" / "config.schema.yaml",
        ]
        if pattern.search(path.read_text(encoding="utf-8"))
    ]
    assert [p.relative_to(REPO).as_posix() for p in places] == []
    from igsed.methods.registry import IMPLEMENTATIONS

    assert tuple(IMPLEMENTATIONS) == METHOD_NAMES


# Built from parts, so this file does not name what it looks for.
OUTSIDE_PAGES = ("DESIGN" + ".md", "../" + "shared")
DOCUMENTED = ("src", "docs", "workflow", "rules", "tests", "benchmarks", "scripts", "envs")
TOP_FILES = ("README.md", "Snakefile", "config.yaml", "pyproject.toml")


def test_the_repository_documents_itself() -> None:
    """No file points at a design page outside the repository: what it says is said here."""
    files = [REPO / name for name in TOP_FILES]
    for folder in DOCUMENTED:
        files += [p for p in (REPO / folder).rglob("*") if p.is_file() and p.suffix != ".pyc"]
    found = []
    for path in files:
        try:
            text = path.read_text(encoding="utf-8")
        except UnicodeDecodeError:  # images, audio
            continue
        found += [f"{path.relative_to(REPO)}: {name}" for name in OUTSIDE_PAGES if name in text]
    assert found == []


def test_the_readme_stays_short() -> None:
    """The README is read first: at most 200 lines, the details live in docs/."""
    lines = (REPO / "README.md").read_text(encoding="utf-8").splitlines()
    assert len(lines) <= 200, f"README.md has {len(lines)} lines; move details to docs/"
