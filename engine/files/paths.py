"""Where the app finds its bundled resources and keeps the user's downloaded data."""

from __future__ import annotations

import os
from pathlib import Path

import platformdirs

#: Repository root / resources, found relative to this file so it works from any working directory.
RESOURCES: Path = Path(__file__).resolve().parents[2] / "resources"
PRESETS_DIR: Path = RESOURCES / "presets"
BUNDLED_MNIST: Path = RESOURCES / "mnist_5k.npz"

#: Tests point this at a temporary folder so they never touch the real user data directory.
DATA_DIR_ENV = "BACKPROP_PLAYGROUND_DATA"


def user_data_dir() -> Path:
    """The per-user data folder (downloads, cache), created on demand.

    ``$BACKPROP_PLAYGROUND_DATA`` overrides the platform default.
    """
    override = os.environ.get(DATA_DIR_ENV)
    path = Path(override) if override else Path(platformdirs.user_data_dir("backprop-playground"))
    path.mkdir(parents=True, exist_ok=True)
    return path
