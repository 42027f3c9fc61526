"""Shared fixtures: the bundled data split once per session, a temporary user-data folder."""

import pytest

from engine.data import load_dataset


@pytest.fixture(scope="session")
def splits():
    return load_dataset(None)


@pytest.fixture(autouse=True)
def _user_data(tmp_path, monkeypatch):
    # Never touch the real per-user folder from a test.
    monkeypatch.setenv("BACKPROP_PLAYGROUND_DATA", str(tmp_path / "user-data"))
