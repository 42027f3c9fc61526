"""The command line as a user meets it: train, predict, presets, and one-line errors (status 2)."""

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import main
from engine.data.datasets import load_bundled
from gui.drawing.image_io import gray_to_qimage

ROOT = Path(__file__).resolve().parent.parent


def run(*args, cwd=ROOT):
    return subprocess.run(
        [sys.executable, str(ROOT / "main.py"), *args],
        capture_output=True,
        text=True,
        cwd=cwd,
        timeout=120,
    )


@pytest.fixture(scope="module")
def model(tmp_path_factory):
    path = tmp_path_factory.mktemp("model") / "m.npz"
    code = main.main(["train", "--epochs", "3", "--seed", "1", "--out", str(path), "--json"])
    assert code == 0
    return path


def test_train_json_reports_accuracy(capsys, tmp_path):
    code = main.main(["train", "--epochs", "2", "--batch-size", "128", "--lr", "0.1", "--json"])
    assert code == 0
    result = json.loads(capsys.readouterr().out)
    assert result["epochs"] == 2
    assert result["test_accuracy"] > 0.8
    assert result["seconds"] > 0


def test_train_prints_progress_and_final_line(tmp_path):
    spec = tmp_path / "tiny.json"
    spec.write_text(
        json.dumps(
            {
                "layers": [{"type": "dense", "units": 16, "activation": "relu"}],
                "hyperparams": {"epochs": 1},
            }
        )
    )
    proc = run("train", "--spec", str(spec))
    assert proc.returncode == 0, proc.stderr
    assert "[####" in proc.stderr
    assert proc.stdout.startswith("train accuracy ")
    assert "test accuracy" in proc.stdout


@pytest.mark.slow
def test_healthy_preset_reaches_95_percent_in_under_60_s():
    proc = run("train", "--preset", "healthy", "--json")
    assert proc.returncode == 0, proc.stderr
    result = json.loads(proc.stdout)
    assert result["test_accuracy"] >= 0.95, result
    assert result["seconds"] < 60, result


def test_predict_reads_images(tmp_path, model):
    data = load_bundled()
    paths = []
    for index in (0, 500, 1700):  # a 0, a 1 and a 3
        image = np.kron(
            255 - data.images[index], np.ones((4, 4), dtype=np.uint8)
        )  # dark ink on white
        path = tmp_path / f"digit{index}.png"
        gray_to_qimage(image).save(str(path))
        paths.append(str(path))
    proc = run("predict", "--model", str(model), *paths, "--json")
    assert proc.returncode == 0, proc.stderr
    results = json.loads(proc.stdout)
    assert [r["file"] for r in results] == paths
    assert [r["digit"] for r in results] == [0, 1, 3]
    for r in results:
        assert abs(sum(r["probabilities"]) - 1) < 1e-4
    text = run("predict", "--model", str(model), paths[0])
    assert text.stdout.startswith(f"{paths[0]}: 0")


def test_presets_lists_descriptions():
    proc = run("presets")
    assert proc.returncode == 0
    for name in ("healthy", "vanishing", "exploding", "overfitting", "mse-sigmoid"):
        assert f"\n{name}\n" in f"\n{proc.stdout}"


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["train", "--preset", "nope"], "unknown preset 'nope'; available: healthy"),
        (["train", "--spec", "missing.json"], "cannot read spec missing.json"),
        (["train", "--lr", "-1"], "learning_rate must be a number"),
        (["train", "--optimizer", "adamw"], "optimizer: unknown 'adamw'"),
        (["predict", "--model", "missing.npz", "x.png"], "no such file"),
        (["train", "--epochs", "many"], "invalid int value"),
        (["train", "--data", "nowhere"], "No such file or folder"),
    ],
)
def test_bad_input_gives_one_line_and_status_2(args, message, tmp_path):
    proc = run(*args, cwd=tmp_path)
    assert proc.returncode == 2
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1, proc.stderr
    assert message in lines[0]
    assert "Traceback" not in proc.stderr


def test_malformed_spec_and_model_and_empty_image(tmp_path, model):
    bad_spec = tmp_path / "bad.json"
    bad_spec.write_text('{"layers": [{"type": "dense", "units": 0}]}')
    proc = run("train", "--spec", str(bad_spec))
    assert proc.returncode == 2
    assert "layer 1 (dense): units must be 1..4096" in proc.stderr
    bad_model = tmp_path / "bad.npz"
    bad_model.write_bytes(b"PK\x03\x04 definitely not a zip")
    proc = run("predict", "--model", str(bad_model), "x.png")
    assert proc.returncode == 2
    assert "bad.npz" in proc.stderr
    blank = tmp_path / "blank.png"
    gray_to_qimage(np.full((50, 50), 255, dtype=np.uint8)).save(str(blank))
    proc = run("predict", "--model", str(model), str(blank))
    assert proc.returncode == 2
    assert "othing was drawn" in proc.stderr
    not_image = tmp_path / "note.png"
    not_image.write_text("hello")
    proc = run("predict", "--model", str(model), str(not_image))
    assert proc.returncode == 2
    assert "not an image" in proc.stderr
