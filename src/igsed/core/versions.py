"""Installed package versions, read from distribution metadata (nothing is imported)."""

from __future__ import annotations

from importlib import metadata


def package_version(name: str, missing: str = "unknown") -> str:
    """The installed version of distribution `name`, or `missing` when it is not installed."""
    try:
        return metadata.version(name)
    except metadata.PackageNotFoundError:
        return missing
