"""The rooms keep to their doors: the engine never imports Qt or the GUI, and each subpackage
imports only the rooms its ``__init__`` docstring names (parsed with ``ast``: nothing is run)."""

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
ENGINE = ROOT / "engine"
GUI = ROOT / "gui"
FORBIDDEN = ("PySide6", "PyQt5", "PyQt6", "shiboken6", "pyqtgraph", "superqt", "qtpy", "gui")

# Engine room (or top-level module) -> the engine rooms it may import besides itself. A DAG:
# files at the bottom, training at the top.
ENGINE_DOORS = {
    "files": set(),
    "data": {"files"},
    "layers": {"files"},
    "snapshot": {"files"},
    "inference": {"files", "data", "layers"},
    "diagnostics": {"files", "layers", "snapshot"},
    "training": {"files", "data", "layers", "diagnostics", "snapshot"},
}
# GUI rooms holding views: each renders what it is given and emits what the user did, so none of
# them may reach the training plumbing (gui.training, engine.training) or another view room.
# The composition root (gui/app.py) and the window's top-level modules connect them.
VIEW_ROOMS = ("builder", "charts", "controls", "drawing")


def imported_modules(path: Path) -> list[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    names = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.extend(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.extend(
                f"{node.module}.{alias.name}" if node.module in ("engine", "gui") else node.module
                for alias in node.names
            )
    return names


def room_of(module: str, package: str) -> str | None:
    """``engine.layers.dense`` -> ``layers``; ``engine.snapshot`` -> ``snapshot``."""
    parts = module.split(".")
    return parts[1] if parts[0] == package and len(parts) > 1 else None


def modules(folder: Path) -> list[Path]:
    return sorted(folder.rglob("*.py"))


def ids(path: Path) -> str:
    return str(path.relative_to(ROOT))


@pytest.mark.parametrize("path", modules(ENGINE), ids=ids)
def test_engine_module_imports_no_gui(path):
    bad = [m for m in imported_modules(path) if m.split(".")[0] in FORBIDDEN]
    assert not bad, f"{path.name} imports {bad}"


@pytest.mark.parametrize("path", modules(ENGINE), ids=ids)
def test_engine_rooms_import_only_the_rooms_below_them(path):
    rel = path.relative_to(ENGINE)
    own = rel.parts[0] if len(rel.parts) > 1 else rel.stem
    if own == "__init__":
        return
    assert own in ENGINE_DOORS, f"engine/{rel} is in no known room: add it to ENGINE_DOORS"
    used = {room_of(m, "engine") for m in imported_modules(path)} - {None, own}
    assert used <= ENGINE_DOORS[own], f"engine/{rel} imports {sorted(used - ENGINE_DOORS[own])}"


@pytest.mark.parametrize("path", [p for room in VIEW_ROOMS for p in modules(GUI / room)], ids=ids)
def test_view_rooms_never_reach_training_or_each_other(path):
    own = path.relative_to(GUI).parts[0]
    imported = imported_modules(path)
    bad = [m for m in imported if room_of(m, "engine") == "training"]
    bad += [m for m in imported if room_of(m, "gui") not in (None, own)]
    assert not bad, f"gui/{path.relative_to(GUI)} imports {bad}"


def test_gui_training_room_imports_no_view():
    for module in modules(GUI / "training"):
        used = {room_of(m, "gui") for m in imported_modules(module)} - {None, "training"}
        assert not used, f"{ids(module)} imports gui rooms {sorted(used)}"


def test_checker_catches_forbidden_imports(tmp_path):
    sample = tmp_path / "bad.py"
    sample.write_text(
        "from PySide6.QtCore import QObject\nimport gui.app\nfrom engine import training\n"
        "from engine.layers.dense import Dense\n"
    )
    found = imported_modules(sample)
    assert [m.split(".")[0] for m in found] == ["PySide6", "gui", "engine", "engine"]
    assert [room_of(m, "engine") for m in found[2:]] == ["training", "layers"]


def test_blas_runs_one_thread_in_tests_and_app():
    threadpoolctl = pytest.importorskip("threadpoolctl")
    blas = [p for p in threadpoolctl.threadpool_info() if p["user_api"] == "blas"]
    assert blas
    assert all(p["num_threads"] == 1 for p in blas)
