"""Taught digits: saved atomically, read without pickle, listed and removed in the panel."""

from __future__ import annotations

import numpy as np
import pytest
from PySide6.QtCore import Qt

from engine.data.datasets import DataError, Dataset, load_bundled
from engine.data.user_examples import FILE_NAME, UserExamples
from engine.files.paths import DATA_DIR_ENV
from gui.drawing.teach import TeachPanel


@pytest.fixture(autouse=True)
def data_dir(tmp_path, monkeypatch):
    monkeypatch.setenv(DATA_DIR_ENV, str(tmp_path))
    return tmp_path


def digits(*indices):
    return [load_bundled().images[i] for i in indices]


def test_add_remove_persist_in_the_user_data_dir(data_dir):
    store = UserExamples()
    assert store.path == data_dir / "taught" / FILE_NAME
    assert len(store) == 0
    assert not store.path.exists()
    three, seven, nine = digits(1600, 3600, 4600)
    store.add(three, 3)
    store.add(seven, 7)
    store.add(nine, np.uint8(9))
    assert store.path.exists()
    assert sorted(p.name for p in store.directory.iterdir()) == [FILE_NAME]  # no temp file left

    again = UserExamples()
    np.testing.assert_array_equal(again.labels, [3, 7, 9])
    np.testing.assert_array_equal(again.images[1], seven)
    again.remove(1)
    reloaded = UserExamples()
    np.testing.assert_array_equal(reloaded.labels, [3, 9])
    np.testing.assert_array_equal(reloaded.images, np.stack([three, nine]))
    reloaded.remove(-1)
    reloaded.remove(0)
    assert not reloaded.path.exists()  # nothing taught = no file
    assert len(UserExamples()) == 0


def test_dataset_is_a_copy_the_trainer_can_use():
    store = UserExamples()
    empty = store.dataset()
    assert isinstance(empty, Dataset)
    assert len(empty) == 0
    (five,) = digits(2500)
    store.add(five, 5)
    data = store.dataset()
    assert data.images.shape == (1, 28, 28)
    assert data.images.dtype == np.uint8
    np.testing.assert_array_equal(data.labels, [5])
    store.add(five, 6)
    assert len(data) == 1  # taken before: unchanged


@pytest.mark.parametrize(
    ("image", "label", "match"),
    [
        (np.zeros((28, 28), np.float32), 1, "uint8"),
        (np.zeros((20, 20), np.uint8), 1, r"\(28, 28\)"),
        (np.zeros((28, 28), np.uint8), 10, "0..9"),
        (np.zeros((28, 28), np.uint8), 2.5, "0..9"),
        (np.zeros((28, 28), np.uint8), True, "0..9"),
    ],
)
def test_bad_examples_are_refused_and_nothing_is_written(image, label, match):
    store = UserExamples()
    with pytest.raises(DataError, match=match):
        store.add(image, label)
    assert not store.path.exists()
    with pytest.raises(IndexError):
        store.remove(0)


def test_pickled_or_corrupt_files_are_not_loaded_and_not_overwritten(qtbot, data_dir):
    folder = data_dir / "taught"
    folder.mkdir()
    path = folder / FILE_NAME
    np.savez(path, images=np.array([object()], dtype=object), labels=np.array([1]))
    with pytest.raises(DataError):
        UserExamples()
    path.write_bytes(b"PK\x03\x04 truncated")
    with pytest.raises(DataError, match=FILE_NAME):
        UserExamples()
    panel = TeachPanel()
    qtbot.addWidget(panel)
    assert "could not be loaded" in panel._status.text()
    panel.set_drawing28(digits(0)[0])
    assert not panel._buttons[0].isEnabled()
    assert path.read_bytes() == b"PK\x03\x04 truncated"


def test_teach_panel_adds_lists_and_removes(qtbot, data_dir):
    panel = TeachPanel()
    qtbot.addWidget(panel)
    changes: list[Dataset] = []
    panel.examples_changed.connect(changes.append)
    buttons = {b.text(): b for b in panel._buttons}
    assert not buttons["4"].isEnabled()  # no drawing yet

    four, one = digits(2000, 600)
    panel.set_drawing28(four)
    qtbot.mouseClick(buttons["4"], Qt.MouseButton.LeftButton)
    panel.set_drawing28(one)
    qtbot.mouseClick(buttons["1"], Qt.MouseButton.LeftButton)
    assert panel._list.count() == 2
    assert [panel._list.item(i).text() for i in range(2)] == ["4", "1"]
    assert not panel._list.item(0).icon().isNull()
    np.testing.assert_array_equal(changes[-1].labels, [4, 1])
    np.testing.assert_array_equal(UserExamples().labels, [4, 1])  # on disk

    panel._list.item(0).setSelected(True)
    qtbot.mouseClick(panel._remove, Qt.MouseButton.LeftButton)
    np.testing.assert_array_equal(changes[-1].labels, [1])
    np.testing.assert_array_equal(UserExamples().images, [one])
    panel._list.item(0).setSelected(True)
    qtbot.keyClick(panel._list, Qt.Key.Key_Delete)
    assert len(changes[-1]) == 0
    assert panel._list.count() == 0
    fresh = TeachPanel()
    qtbot.addWidget(fresh)
    assert len(fresh.dataset()) == 0

    panel.set_drawing28(None)
    assert not buttons["1"].isEnabled()
