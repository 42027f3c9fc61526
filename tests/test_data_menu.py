"""Data menu in the real window: full-MNIST download (local server), IDX folder, bundled digits."""

import gzip
import hashlib
import struct

import numpy as np
import pytest
from http_files import FileServer
from PySide6.QtWidgets import QFileDialog, QMessageBox

from engine.data.datasets import load_bundled

NAMES = {
    "train-images-idx3-ubyte.gz": ("images", slice(0, 5000, 10)),
    "train-labels-idx1-ubyte.gz": ("labels", slice(0, 5000, 10)),
    "t10k-images-idx3-ubyte.gz": ("images", slice(5, 5000, 50)),
    "t10k-labels-idx1-ubyte.gz": ("labels", slice(5, 5000, 50)),
}


def idx_gz(array: np.ndarray) -> bytes:
    header = bytes([0, 0, 8, array.ndim]) + struct.pack(f">{array.ndim}i", *array.shape)
    return gzip.compress(header + array.astype(np.uint8).tobytes())


@pytest.fixture
def mnist_server():
    data = load_bundled()
    server = FileServer()
    files = {}
    for name, (kind, rows) in NAMES.items():
        body = idx_gz(getattr(data, kind)[rows])
        server.files[name] = body
        files[name] = (len(body), hashlib.sha256(body).hexdigest())
    yield server, files
    server.close()


def messages_to(monkeypatch):
    shown = []
    monkeypatch.setattr(QMessageBox, "warning", lambda _p, title, text: shown.append(text))
    return shown


def test_download_shows_progress_and_switches_the_data(qtbot, make_app, mnist_server, monkeypatch):
    server, files = mnist_server
    app = make_app()
    app.data.mirrors, app.data.files = [server.url], files
    shown = messages_to(monkeypatch)
    progress = []
    app.window.status.download_bar.valueChanged.connect(progress.append)
    with qtbot.waitSignal(app.data.dataset_changed, timeout=20000) as blocker:
        app.window.download_action.trigger()
        assert app.window.status.download_bar.isVisible()
    assert shown == []
    assert blocker.args[0].startswith("Full MNIST: 450 train / 50 val / 100 test")
    assert progress[-1] == sum(size for size, _ in files.values())
    qtbot.waitUntil(lambda: not app.window.status.download_bar.isVisible())
    app.controller.step(3)
    qtbot.waitUntil(lambda: app.controller.latest.step == 3, timeout=10000)


def test_download_failure_says_why_and_keeps_the_data(qtbot, make_app, monkeypatch):
    app = make_app()
    app.data.mirrors = ["http://127.0.0.1:9/mnist/"]  # the discard port: nothing listens
    shown = messages_to(monkeypatch)
    switched = []
    app.data.dataset_changed.connect(switched.append)
    app.window.download_action.trigger()
    qtbot.waitUntil(lambda: len(shown) > 0, timeout=20000)
    assert switched == []
    assert "Could not reach any MNIST mirror" in shown[0]
    assert "bundled 5,000 digits still work offline" in shown[0]
    qtbot.waitUntil(lambda: not app.window.status.download_bar.isVisible())


def test_open_idx_folder_and_back_to_bundled(qtbot, make_app, mnist_server, tmp_path, monkeypatch):
    server, _files = mnist_server
    for name, body in server.files.items():
        (tmp_path / name).write_bytes(body)
    app = make_app()
    monkeypatch.setattr(QFileDialog, "getExistingDirectory", lambda *a, **k: str(tmp_path))
    with qtbot.waitSignal(app.data.dataset_changed, timeout=10000) as blocker:
        app.window.idx_action.trigger()
    assert "450 train" in blocker.args[0]
    with qtbot.waitSignal(app.data.dataset_changed, timeout=10000) as blocker:
        app.window.bundled_action.trigger()
    assert blocker.args[0].startswith("Bundled MNIST digits: 3,500 train")


def test_broken_idx_folder_is_refused_with_a_message(qtbot, make_app, tmp_path, monkeypatch):
    (tmp_path / "train-images-idx3-ubyte.gz").write_bytes(b"not gzip")
    app = make_app()
    shown = messages_to(monkeypatch)
    monkeypatch.setattr(QFileDialog, "getExistingDirectory", lambda *a, **k: str(tmp_path))
    app.window.idx_action.trigger()
    assert shown
    assert tmp_path.name in shown[0] or "train" in shown[0]
