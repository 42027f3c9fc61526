"""The bundled presets (resources/presets/*.json): named specs with a paragraph on what to watch."""

from __future__ import annotations

from pathlib import Path

from engine.files.paths import PRESETS_DIR
from engine.files.spec import NetworkSpec, SpecError

ORDER = ("healthy", "vanishing", "exploding", "overfitting", "mse-sigmoid")


def load_presets(folder: Path = PRESETS_DIR) -> dict[str, NetworkSpec]:
    """Every preset by name, the course's order first; a broken file raises SpecError naming it."""
    presets = {}
    for path in sorted(folder.glob("*.json")):
        try:
            presets[path.stem] = NetworkSpec.from_json(path.read_text(encoding="utf-8"))
        except SpecError as exc:
            raise SpecError(f"preset {path.name}: {exc}") from None
    ranked = sorted(presets, key=lambda n: (ORDER.index(n) if n in ORDER else len(ORDER), n))
    return {name: presets[name] for name in ranked}


def load_preset(name: str) -> NetworkSpec:
    presets = load_presets()
    if name not in presets:
        raise SpecError(f"unknown preset {name!r}; available: {', '.join(presets)}")
    return presets[name]
