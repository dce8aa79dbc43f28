"""The one way into scaper: a NumPy 2 shim for scaper 1.6.5.

scaper 1.6.5 (its last release) still writes `-np.Inf` in `scaper/core.py` when it
instantiates events, and NumPy 2 removed that alias, so every `Scaper.generate` call
would raise AttributeError. pandas 3 and the SLURM executor plugin need NumPy >= 2, so
pinning NumPy 1 is not an option. Restoring the alias (it is the same float as
`np.inf`) before scaper runs is enough; scaper then gives byte-identical output for the
same `random_state`. Import scaper only through `import_scaper()` so this stays the
single place that knows about it; drop the shim when scaper stops using `np.Inf`.
"""

from __future__ import annotations

import functools
import types

import numpy as np


@functools.cache
def import_scaper() -> types.ModuleType:
    """The `scaper` module, with NumPy's removed `np.Inf` alias restored first."""
    if not hasattr(np, "Inf"):
        np.Inf = np.inf  # type: ignore[attr-defined]
    import scaper

    return scaper
