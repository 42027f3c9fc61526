"""Model and session files: one .npz holding the spec as JSON, a format version and named arrays.

Layout (all arrays; loaded with ``allow_pickle=False``, so a file can never run code):
- ``format``: the string "backprop-playground/model"; ``version``: int (currently 1)
- ``spec``: the NetworkSpec as JSON text (architecture and hyperparameters)
- ``weights/<name>``: every parameter and buffer ("weights/dense1.W",
  "weights/batchnorm2.running_mean")
- ``optimizer/<key>``: optimiser state (optional: momentum velocities, Adam moments, step count)
- ``history/...``, ``meta/step``, ``meta/epoch``: training history (session files only)
Files are written to a temporary file in the target folder and renamed, so a crash mid-write never
leaves a broken model behind.
"""

from __future__ import annotations

import zipfile
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from engine.files.atomic_file import atomic_writer
from engine.files.spec import NetworkSpec, SpecError

FORMAT = "backprop-playground/model"
VERSION = 1


class ModelFileError(ValueError):
    """A model file that cannot be used; the message says what is wrong with it."""


@dataclass
class ModelFile:
    spec: NetworkSpec
    weights: dict[str, np.ndarray]
    optimizer: dict[str, np.ndarray] = field(default_factory=dict)
    history: dict[str, np.ndarray] = field(default_factory=dict)
    meta: dict[str, int] = field(default_factory=dict)


def write_npz_atomic(path: Path, arrays: dict[str, np.ndarray]) -> None:
    """np.savez into a temp file beside ``path``, then rename over it."""
    with atomic_writer(path) as handle:
        np.savez(handle, **arrays)


def save_model(path: Path, model: ModelFile) -> None:
    arrays: dict[str, np.ndarray] = {
        "format": np.array(FORMAT),
        "version": np.array(VERSION),
        "spec": np.array(model.spec.to_json()),
    }
    arrays.update({f"weights/{k}": np.asarray(v) for k, v in model.weights.items()})
    arrays.update({f"optimizer/{k}": np.asarray(v) for k, v in model.optimizer.items()})
    arrays.update({f"history/{k}": np.asarray(v) for k, v in model.history.items()})
    arrays.update({f"meta/{k}": np.array(v) for k, v in model.meta.items()})
    write_npz_atomic(Path(path), arrays)


def load_model(path: Path) -> ModelFile:
    """Read and check a model file; raises ModelFileError with a plain reason."""
    path = Path(path)
    if not path.is_file():
        raise ModelFileError(f"{path}: no such file")
    try:
        with np.load(path, allow_pickle=False) as data:
            arrays = {key: data[key] for key in data.files}
    except (zipfile.BadZipFile, EOFError) as exc:
        raise ModelFileError(f"{path.name}: not a model file or truncated ({exc})") from None
    except ValueError as exc:
        raise ModelFileError(f"{path.name}: holds data this app will not load ({exc})") from None
    except OSError as exc:
        raise ModelFileError(f"{path.name}: cannot be read ({exc})") from None
    if not isinstance(arrays, dict) or "format" not in arrays:
        raise ModelFileError(f"{path.name}: not a Backprop Playground model (no format marker)")
    if str(arrays["format"]) != FORMAT:
        raise ModelFileError(f"{path.name}: not a Backprop Playground model ({arrays['format']!s})")
    version = arrays.get("version")
    if version is None or version.shape != () or not np.issubdtype(version.dtype, np.integer):
        raise ModelFileError(f"{path.name}: missing or malformed format version")
    if int(version) > VERSION:
        raise ModelFileError(f"{path.name}: format version {int(version)} is newer than this app")
    spec_text = arrays.get("spec")
    if spec_text is None or spec_text.dtype.kind != "U" or spec_text.shape != ():
        raise ModelFileError(f"{path.name}: the network description is missing")
    try:
        spec = NetworkSpec.from_json(str(spec_text))
    except SpecError as exc:
        raise ModelFileError(f"{path.name}: bad network description: {exc}") from None

    def group(prefix: str) -> dict[str, np.ndarray]:
        return {k[len(prefix) :]: v for k, v in arrays.items() if k.startswith(prefix)}

    meta = {k: int(v) for k, v in group("meta/").items() if v.shape == () and v.dtype.kind in "iu"}
    return ModelFile(spec, group("weights/"), group("optimizer/"), group("history/"), meta)


def check_weights(model: ModelFile, expected: dict[str, tuple[int, ...]]) -> None:
    """Raise ModelFileError unless the weights match the shapes the spec builds."""
    for name, shape in expected.items():
        if name not in model.weights:
            raise ModelFileError(
                f"the file has no weights for {name!r}; it does not match its spec"
            )
        array = model.weights[name]
        if array.shape != shape:
            raise ModelFileError(
                f"weights {name!r} have shape {array.shape}, the spec needs {shape}"
            )
        if array.dtype.kind != "f":
            raise ModelFileError(f"weights {name!r} are {array.dtype}, not floating point")
    extra = sorted(set(model.weights) - set(expected))
    if extra:
        raise ModelFileError(f"the file has weights the spec does not use: {', '.join(extra[:5])}")
