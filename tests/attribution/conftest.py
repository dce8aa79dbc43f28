"""The float64 equivalence fixtures (clip, model, narrow) for the attribution tests."""

from support.explained import clip, model, narrow  # noqa: F401
