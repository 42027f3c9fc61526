"""Shared fixtures: the bundled data split once per session, a temporary user-data folder."""

import pytest
from PySide6.QtCore import QSettings

from engine.data.sources import load_dataset


@pytest.fixture(scope="session")
def splits():
    return load_dataset(None)


@pytest.fixture(autouse=True)
def _user_data(tmp_path, monkeypatch):
    # Never touch the real per-user folder from a test.
    monkeypatch.setenv("BACKPROP_PLAYGROUND_DATA", str(tmp_path / "user-data"))


@pytest.fixture
def settings(tmp_path):
    return QSettings(str(tmp_path / "settings.ini"), QSettings.Format.IniFormat)


@pytest.fixture
def make_app(qtbot, settings, splits):
    made = []

    def make(spec=None):
        from gui.app import build_app

        app = build_app(settings=settings, spec=spec, splits=splits)
        qtbot.addWidget(app.window)
        app.window.resize(1400, 900)
        app.window.show()
        app.window.activateWindow()  # keyboard shortcuts need an active window
        qtbot.waitUntil(app.window.isActiveWindow)
        made.append(app)
        return app

    yield make
    for app in made:
        app.shutdown()
        assert not app.controller.is_running()
