"""Per-rule conda envs, checked statically (conda cannot reach a channel on this machine).

Every rule names an env file that exists and parses; each env provides every third-party
module its rules' scripts import (igsed.pipeline.code_digest follows them into igsed) and little
else; and its pins agree with pyproject.toml, so a conda run and a venv run use the same
library versions.
"""

from __future__ import annotations

import re
import subprocess
import tomllib
from pathlib import Path

import pytest
import yaml
from packaging.requirements import Requirement
from packaging.specifiers import SpecifierSet
from packaging.version import Version
from support.workflow import REPO, SNAKEMAKE

from igsed.pipeline.code_digest import third_party_imports

RULE_FILES = sorted((REPO / "rules").glob("*.smk"))
SRC = REPO / "src"

# Import name -> distribution name, where they differ.
DISTRIBUTION_OF_MODULE = {
    "yaml": "pyyaml",
    "matplotlib": "matplotlib-base",
    "sklearn": "scikit-learn",
    "sed_scores_eval": "sed-scores-eval-np2",
}
# Conda-only names -> the PyPI distribution pyproject.toml pins.
PYPI_NAME_OF = {"matplotlib-base": "matplotlib"}
# Entries an env may hold although no rule script imports them: the interpreter and its
# installer, soxbindings (the `sox` module scaper imports) and the libsox it links against,
# tabulate (pandas.DataFrame.to_markdown).
INDIRECT = {"python", "pip", "sox", "soxbindings", "tabulate"}


def _rule_blocks() -> dict[str, tuple[Path, str]]:
    """rule name -> (file, text of its block), from the .smk sources."""
    blocks: dict[str, tuple[Path, str]] = {}
    for smk in RULE_FILES:
        text = smk.read_text()
        starts = list(re.finditer(r"^(?:rule|checkpoint) (\w+):", text, flags=re.MULTILINE))
        for index, match in enumerate(starts):
            end = starts[index + 1].start() if index + 1 < len(starts) else len(text)
            # A block ends at the next top-level statement (def, include, another rule).
            body = text[match.end() : end]
            top_level = re.search(r"^\S", body, flags=re.MULTILINE)
            blocks[match.group(1)] = (smk, body[: top_level.start()] if top_level else body)
    # `use rule a as b with:` (rules/conditions.smk) keeps a's env and script.
    for smk in RULE_FILES:
        for match in re.finditer(r"^use rule (\w+) as (\w+) with:", smk.read_text(), re.MULTILINE):
            blocks[match.group(2)] = blocks[match.group(1)]
    return blocks


def _directive(block: str, name: str) -> str | None:
    match = re.search(rf"^\s+{name}:\s*\n\s+\"([^\"]+)\"", block, flags=re.MULTILINE)
    return match.group(1) if match else None


def _snakemake_rules() -> set[str]:
    listing = subprocess.run(
        [SNAKEMAKE, "--list-rules"], cwd=REPO, capture_output=True, text=True, check=True
    ).stdout
    return {line.strip() for line in listing.splitlines() if line.strip()}


def _env_dependencies(env_file: Path) -> dict[str, str]:
    """Dependency name -> version pin ('' if unpinned), conda and pip entries together."""
    env = yaml.safe_load(env_file.read_text())
    pins: dict[str, str] = {}
    for entry in env["dependencies"]:
        entries = entry["pip"] if isinstance(entry, dict) else [entry]
        for item in entries:
            name, _, pin = re.match(r"([A-Za-z0-9_.\-]+)\s*(==|=)?\s*(.*)", item).groups()
            pins[name.lower()] = pin
    return pins


def test_every_rule_names_an_existing_env_and_a_script() -> None:
    blocks = _rule_blocks()
    # The text parse sees the same rules as Snakemake, except the target rule `all`.
    assert set(blocks) | {"all"} == _snakemake_rules()
    for rule, (smk, block) in blocks.items():
        env = _directive(block, "conda")
        assert env is not None, f"rule {rule} in {smk.name} has no conda: directive"
        assert (smk.parent / env).resolve().is_file(), f"rule {rule}: env {env} not found"
        script = _directive(block, "script")
        assert script is not None, f"rule {rule} in {smk.name} has no script: directive"
        assert (smk.parent / script).resolve().is_file(), f"rule {rule}: {script} not found"


@pytest.mark.parametrize("env_file", sorted((REPO / "envs").glob("*.yaml")), ids=lambda p: p.name)
def test_env_parses_and_pins_every_dependency(env_file: Path) -> None:
    env = yaml.safe_load(env_file.read_text())
    assert env["channels"] == ["conda-forge", "nodefaults"]
    pins = _env_dependencies(env_file)
    unpinned = sorted(name for name, pin in pins.items() if not pin)
    assert not unpinned, f"{env_file.name}: unpinned {unpinned}"


def test_each_env_holds_what_its_rules_import_and_little_else() -> None:
    needed: dict[Path, set[str]] = {}
    for smk, block in _rule_blocks().values():
        env = (smk.parent / _directive(block, "conda")).resolve()
        script = (smk.parent / _directive(block, "script")).resolve()
        modules = third_party_imports(script, SRC)
        needed.setdefault(env, set()).update(DISTRIBUTION_OF_MODULE.get(m, m) for m in modules)
    # The analysis rules must not pull in torch: that is what keeps their env small.
    assert "torch" not in needed[(REPO / "envs" / "analysis.yaml").resolve()]
    assert "torch" in needed[(REPO / "envs" / "torch.yaml").resolve()]
    assert "scaper" in needed[(REPO / "envs" / "synthesis.yaml").resolve()]
    for env, distributions in needed.items():
        provided = set(_env_dependencies(env))
        missing = sorted(distributions - provided)
        assert not missing, f"{env.name} lacks {missing}, imported by its rules"
        unused = sorted(provided - distributions - INDIRECT)
        assert not unused, f"{env.name} declares {unused}, which none of its rules imports"


def test_env_pins_agree_with_pyproject() -> None:
    project = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]
    requirements = {
        Requirement(line).name.lower(): Requirement(line).specifier
        for line in project["dependencies"]
    }
    python_range = SpecifierSet(project["requires-python"])
    checked = 0
    for env_file in sorted((REPO / "envs").glob("*.yaml")):
        for name, pin in _env_dependencies(env_file).items():
            # conda's `=2.4` and pip's `==2.11.*` both mean the 2.4 / 2.11 series: its first
            # release must satisfy pyproject's range.
            lowest = Version(pin.removesuffix(".*"))
            if name == "python":
                assert lowest in python_range, f"{env_file.name}: python {pin} vs {python_range}"
                continue
            specifier = requirements.get(PYPI_NAME_OF.get(name, name))
            if specifier is None:
                continue
            assert lowest in specifier, f"{env_file.name}: {name} {pin} outside {specifier}"
            checked += 1
    assert checked >= 15
