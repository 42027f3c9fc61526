"""Gradient-health alerts in plain words, each carrying the fixes the course teaches as data.

Pure logic (no Qt): :func:`detect` turns a StepSnapshot into :class:`Alert` records; a view shows
them and applies a :class:`Fix` with one click. Criteria (see :class:`Thresholds`):

* vanishing: a layer's gradient norm below 1e-3 of the output layer's (median over the
  snapshot's steps, so one quiet batch raises nothing);
* exploding: any step's layer norm above 1e3, or NaN/inf. Healthy presets peak near 3 per layer
  (the mean cross-entropy gradient w.r.t. the logits has norm at most √2); the exploding preset's
  first step is 3e3..9e3, one step before the NaN. At lr 0.1 a norm of 1e3 moves the weights by
  100 in L2, several times a whole He-initialised 784×128 matrix (≈ 16): the update replaces the
  weights instead of nudging them, and two decades of headroom keep early spikes quiet;
* dead ReLU / saturation: at least half of a layer's units off for the whole batch, or in the
  flat tails of sigmoid/tanh.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from engine.files.spec import (
    NetworkSpec,
    SpecError,
    validate,
)
from engine.files.spec_edits import (
    SATURATING,
    dense_layers,
    scaled_or_plain_init,
    with_batchnorm,
    with_leaky_relu,
    with_relu_he,
    with_residual,
    with_softmax_cross_entropy,
    with_standard_init,
)
from engine.snapshot import Diagnostics, StepSnapshot


@dataclass(frozen=True)
class Thresholds:
    vanish_ratio: float = 1e-3  # layer norm / output-layer norm below this = vanishing
    explode_norm: float = 1e3  # a layer's gradient norm above this = exploding (see module doc)
    dead_fraction: float = 0.5  # half the units never fire: half the layer is wasted
    saturated_fraction: float = 0.5  # half the outputs in the flat tails of sigmoid/tanh


@dataclass(frozen=True)
class Fix:
    """One click that changes the network (``kind="spec"``) or the training settings.

    ``apply`` maps the current spec to the fixed one (for both kinds, so a caller can preview);
    ``changes`` holds the Hyperparams field changes of a ``"hyperparams"`` fix.
    """

    label: str
    kind: str  # "spec" | "hyperparams"
    apply: Callable[[NetworkSpec], NetworkSpec]
    changes: Mapping[str, Any] = field(default_factory=dict)
    why: str = ""


@dataclass(frozen=True)
class Alert:
    kind: str  # "vanishing" | "exploding" | "dead_relu" | "saturated"
    severity: str  # "warning" | "error" (error = training has diverged or is about to)
    layers: tuple[str, ...]  # diagnostics row names, input side first
    title: str
    message: str
    fixes: tuple[Fix, ...]

    @property
    def key(self) -> str:
        """Identity across snapshots: one alert per kind; its layers and numbers may change."""
        return self.kind


def diagnostic_rows(spec: NetworkSpec) -> tuple[str, ...]:
    """The ``Diagnostics.layer_names`` a network of ``spec`` will report: its blocks with
    parameters, input side first, so views can label their rows before the first step."""
    owners = ("dense", "batchnorm", "residual")
    rows = [f"{layer.type}{i}" for i, layer in enumerate(spec.layers, 1) if layer.type in owners]
    return (*rows, "output")


# ---------------------------------------------------------------------- detection
def detect(snapshot: StepSnapshot, thresholds: Thresholds = Thresholds()) -> list[Alert]:
    """Alerts for one snapshot, most severe first; [] before the first step."""
    if snapshot.diagnostics is None:
        return []
    grad_norms = snapshot.grad_norms if np.size(snapshot.grad_norms) else None
    return detect_from(snapshot.diagnostics, snapshot.spec, grad_norms, thresholds)


def detect_from(
    diag: Diagnostics,
    spec: NetworkSpec,
    grad_norms: np.ndarray | None = None,
    thresholds: Thresholds = Thresholds(),
) -> list[Alert]:
    """Alerts from diagnostics and optionally every step's norms ``grad_norms`` (k, L).

    Norms are the engine's, taken before clipping; with ``clip_norm`` on they are scaled as the
    clip scales them, so a network that clipping holds in check raises no exploding alert.
    """
    names = diag.layer_names
    norms = np.atleast_2d(np.asarray(diag.grad_norm if grad_norms is None else grad_norms, float))
    if norms.shape[-1] != len(names):  # stale per-step rows of another network: use the latest
        norms = np.atleast_2d(np.asarray(diag.grad_norm, float))
    exploding = _exploding(names, _clipped(norms, spec.hyperparams.clip_norm), spec, thresholds)
    if exploding is not None and exploding.severity == "error":
        return [exploding]  # NaN weights make every other measurement meaningless
    alerts = [
        exploding,
        _vanishing(names, diag.activations, norms, spec, thresholds),
        _fraction("dead_relu", names, diag.dead_fraction, spec, thresholds.dead_fraction),
        _fraction("saturated", names, diag.saturated_fraction, spec, thresholds.saturated_fraction),
    ]
    return [alert for alert in alerts if alert is not None]


def _clipped(norms: np.ndarray, clip_norm: float | None) -> np.ndarray:
    """Per-layer norms after clipping by global norm, which scales every layer alike."""
    if clip_norm is None:
        return norms
    with np.errstate(over="ignore", invalid="ignore"):
        total = np.sqrt(np.square(norms).sum(axis=1, keepdims=True))
        scale = np.minimum(1.0, clip_norm / np.where(total > 0, total, 1.0))
        return np.where(np.isfinite(total), norms * scale, norms)


def _exploding(names, norms, spec, th) -> Alert | None:
    bad_steps = ~np.isfinite(norms)
    nonfinite = bad_steps.any(axis=0)
    peak = np.where(bad_steps, -np.inf, norms).max(axis=0)
    large = peak > th.explode_norm
    layers = _pick(names, nonfinite | large)
    if not layers:
        return None
    severity = "error" if nonfinite.any() else "warning"
    if nonfinite.any():
        message = (
            f"The gradients of {_plain(_pick(names, nonfinite), names)} turned NaN or infinite: "
            "training has diverged and the weights are no longer numbers. Apply a fix, then "
            "reset the network."
        )
    else:
        worst = float(peak[large].max())
        step = spec.hyperparams.learning_rate * worst
        message = (
            f"{_plain(layers, names, capital=True)} {_verb(layers, 'has', 'have')} a gradient "
            f"norm up to {worst:.1e} (above {th.explode_norm:.0e}). Each step moves the "
            f"weights by learning rate × gradient = {step:.1e}: the updates overshoot and the "
            "weights are heading for NaN."
        )
    fixes = _fixes_exploding(spec)
    return Alert("exploding", severity, layers, "Exploding gradients", message, fixes)


def _vanishing(names, activations, norms, spec, th) -> Alert | None:
    finite = norms[np.isfinite(norms).all(axis=1)]
    if len(names) < 2 or not len(finite):
        return None
    with np.errstate(divide="ignore", invalid="ignore"):
        ratios = np.median(finite[:, :-1] / finite[:, -1:], axis=0)
    hit = np.isfinite(ratios) & (ratios < th.vanish_ratio)
    layers = _pick(names[:-1], hit)
    if not layers:
        return None
    squashers = sorted({a for a in activations if a in SATURATING})
    cause = (
        f" Every {'/'.join(squashers)} layer multiplies the gradient by its slope (at most 0.25 "
        "for sigmoid) on the way back, so it shrinks layer after layer."
        if squashers
        else " The gradient shrinks each time it passes back through a layer."
    )
    worst = float(ratios[hit].min())
    amount = f"gradients as small as {worst:.1e} × the output layer's" if worst else "no gradient"
    message = (
        f"{_plain(layers, names, capital=True)} {_verb(layers, 'gets', 'get')} {amount} (alarm "
        f"level: 1/{1 / th.vanish_ratio:.0f} of the output layer's): "
        f"{_verb(layers, 'its', 'their')} weights barely change and "
        f"{_verb(layers, 'it has', 'they have')} practically stopped learning.{cause}"
    )
    fixes = _valid(spec, [FIX_RELU_HE, FIX_BATCHNORM, FIX_RESIDUAL])
    return Alert("vanishing", "warning", layers, "Vanishing gradients", message, fixes)


def _fraction(kind, names, fractions, spec, threshold) -> Alert | None:
    """Dead-ReLU or saturation alert from per-layer fractions (NaN where they do not apply)."""
    frac = np.asarray(fractions, float)
    hit = np.nan_to_num(frac, nan=-1.0) >= threshold
    layers = _pick(names, hit)
    if not layers:
        return None
    share, where = f"Up to {frac[hit].max():.0%}", _plain(layers, names)
    if kind == "dead_relu":
        title = "Dead ReLUs"
        message = (
            f"{share} of the ReLU units in {where} output 0 for every image of the batch. A "
            "dead ReLU has slope 0, so no gradient reaches its weights and it never comes back "
            "(a too-large step often pushes its bias far negative)."
        )
        fixes = [FIX_LEAKY, _lower_lr(spec, "big steps knock units dead"), FIX_INIT]
    else:
        title = "Saturated activations"
        message = (
            f"{share} of the outputs of {where} sit in the flat tails of the sigmoid/tanh, "
            "where its slope is almost 0: the gradient through them all but stops, and a "
            "confidently wrong unit learns slowest."
        )
        mse_output = "output" in layers and spec.loss == "mse"
        fixes = [FIX_SOFTMAX_CE] * mse_output + [FIX_RELU_HE, FIX_BATCHNORM]
    return Alert(kind, "warning", layers, title, message, _valid(spec, fixes))


def _pick(names, mask) -> tuple[str, ...]:
    return tuple(name for name, hit in zip(names, mask, strict=True) if hit)


# ---------------------------------------------------------------------- plain words
def _plain(layers, names, capital: bool = False) -> str:
    """'layer dense1 (the 1st of 9, counting from the input)', or a short list of layers."""
    pos = [names.index(name) + 1 for name in layers]
    if len(layers) == 1:
        text = f"layer {layers[0]} (the {_ordinal(pos[0])} of {len(names)}"
    else:
        shown = [*layers[:4], f"{len(layers) - 4} more"] if len(layers) > 4 else list(layers)
        span = f"{_ordinal(pos[0])} to {_ordinal(pos[-1])}"
        where = f"the {span} of" if pos[-1] - pos[0] == len(pos) - 1 else "of"
        text = f"layers {', '.join(shown[:-1])} and {shown[-1]} ({where} {len(names)}"
    text += ", counting from the input)"
    return text[0].upper() + text[1:] if capital else text


def _ordinal(n: int) -> str:
    suffix = "th" if 10 <= n % 100 <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(n % 10, "th")
    return f"{n}{suffix}"


def _verb(layers, singular: str, plural: str) -> str:
    return singular if len(layers) == 1 else plural


# ---------------------------------------------------------------------- fixes
def _fixes_exploding(spec: NetworkSpec) -> tuple[Fix, ...]:
    fixes = []
    if spec.hyperparams.clip_norm is None or spec.hyperparams.clip_norm > 1.0:
        fixes.append(FIX_CLIP)
    fixes.append(_lower_lr(spec, "smaller steps stop the overshoot"))
    if any(scaled_or_plain_init(layer) for layer in dense_layers(spec.layers)):
        fixes.append(FIX_INIT)
    fixes.append(FIX_BATCHNORM)
    return _valid(spec, fixes)


def _lower_lr(spec: NetworkSpec, why: str) -> Fix:
    lower = spec.hyperparams.learning_rate / 10
    return _hyper_fix(f"Lower the learning rate to {lower:.2g}", {"learning_rate": lower}, why)


def _hyper_fix(label: str, changes: dict[str, Any], why: str) -> Fix:
    return Fix(label, "hyperparams", lambda spec: spec.with_hyperparams(**changes), changes, why)


_checked: dict[tuple[str, ...], tuple[NetworkSpec, tuple[Fix, ...]]] = {}


def _valid(spec: NetworkSpec, fixes: list[Fix]) -> tuple[Fix, ...]:
    """Only fixes that change something and give a network that can be built.

    Building and validating every fix is most of detect()'s time, and snapshots carry the very
    same spec object until it changes, so the answer is remembered per spec object.
    """
    key = tuple(fix.label for fix in fixes)
    hit = _checked.get(key)
    if hit is not None and hit[0] is spec:
        return hit[1]
    kept = []
    for fix in fixes:
        try:
            fixed = fix.apply(spec)
            validate(fixed)
        except SpecError:
            continue
        if fixed != spec:
            kept.append(fix)
    if len(_checked) > 32:  # labels carry the learning rate: keep the memo small
        _checked.clear()
    _checked[key] = (spec, tuple(kept))
    return tuple(kept)


# The course's fixes, as data (engine.files.spec_edits does the work).
FIX_RELU_HE = Fix(
    "Switch to ReLU + He init", "spec", with_relu_he,
    why="ReLU's slope is 1 where it is active, and He init keeps the signal's scale",
)  # fmt: skip
FIX_BATCHNORM = Fix(
    "Add batch norm", "spec", with_batchnorm,
    why="normalises every layer's pre-activations to mean 0 and variance 1",
)  # fmt: skip
FIX_RESIDUAL = Fix(
    "Add residual connections", "spec", with_residual,
    why="y = x + F(x) gives the gradient a path that skips F",
)  # fmt: skip
FIX_LEAKY = Fix(
    "Switch ReLU to leaky ReLU", "spec", with_leaky_relu,
    why="a leaky ReLU keeps a small slope below 0, so a unit can recover",
)  # fmt: skip
FIX_INIT = Fix(
    "Use He/Xavier init at scale 1", "spec", with_standard_init,
    why="weights drawn too large or too small scale the gradient at every layer",
)  # fmt: skip
FIX_SOFTMAX_CE = Fix(
    "Use softmax + cross-entropy", "spec", with_softmax_cross_entropy,
    why="the cross-entropy gradient p − y does not shrink when an output saturates",
)  # fmt: skip
FIX_CLIP = _hyper_fix(
    "Clip gradients at norm 1", {"clip_norm": 1.0},
    "rescales the whole gradient whenever its norm exceeds 1",
)  # fmt: skip
