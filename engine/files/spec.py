"""Frozen, JSON-serialisable description of a network and its training settings, with validation.

The input's shape and the number of outputs come from the data (28×28×1 pixels and 10 classes
for the digits, the default; a few features and 1-2 outputs for toy problems); ``layers`` lists
what lies between. Every error message names the layer (1-based, as the builder shows it) and
says what would be valid.
"""

from __future__ import annotations

import json
import math
from dataclasses import asdict, dataclass, field, fields, replace
from typing import Any

INPUT_SHAPE = (28, 28, 1)  # the digits: height, width, channels
INPUT_FEATURES = 784
NUM_CLASSES = 10
MAX_INPUT_FEATURES = 65536
MAX_UNITS = 4096
MAX_DEPTH = 64
FORMAT = "backprop-playground/spec"
FORMAT_VERSION = 1

ACTIVATIONS = ("relu", "leaky_relu", "elu", "sigmoid", "tanh", "linear")
INITS = ("zeros", "normal", "uniform", "xavier", "he", "lecun")
LAYER_TYPES = ("dense", "activation", "dropout", "batchnorm", "residual")
OUTPUT_ACTIVATIONS = ("softmax", "sigmoid", "linear")
LOSSES = ("cross_entropy", "mse", "binary_cross_entropy")
OPTIMIZERS = ("sgd", "momentum", "nesterov", "rmsprop", "adam")
SCHEDULES = ("constant", "step", "cosine")


class SpecError(ValueError):
    """A network or training description that cannot be built; the message is for a person."""


@dataclass(frozen=True)
class LayerSpec:
    """One block between input and output.

    type: ``dense`` (units, activation, init, init_scale), ``activation`` (activation),
    ``dropout`` (rate), ``batchnorm`` (no settings) or ``residual`` (``layers``: the blocks of F in
    ``y = x + F(x)``, which must end at the width they start from).
    """

    type: str
    units: int = 0
    activation: str = "relu"
    init: str = "he"
    init_scale: float = 1.0
    rate: float = 0.0
    layers: tuple[LayerSpec, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        if self.type == "dense":
            return {
                "type": "dense",
                "units": self.units,
                "activation": self.activation,
                "init": self.init,
                "init_scale": self.init_scale,
            }
        if self.type == "activation":
            return {"type": "activation", "activation": self.activation}
        if self.type == "dropout":
            return {"type": "dropout", "rate": self.rate}
        if self.type == "residual":
            return {"type": "residual", "layers": [layer.to_dict() for layer in self.layers]}
        return {"type": self.type}


@dataclass(frozen=True)
class OutputSpec:
    """The output layer: its width (10 classes for the digits), activation and initialiser."""

    activation: str = "softmax"
    init: str = "xavier"
    init_scale: float = 1.0
    units: int = NUM_CLASSES


@dataclass(frozen=True)
class Hyperparams:
    """Training settings; all of them may change between two steps."""

    optimizer: str = "sgd"
    learning_rate: float = 0.1
    momentum: float = 0.9  # momentum / Nesterov coefficient, and Adam's beta1
    beta2: float = 0.999  # Adam's second-moment decay, and RMSProp's rho
    batch_size: int = 64  # 1 = stochastic, 0 = the whole training set (full batch)
    epochs: int = 5
    l2: float = 0.0
    dropout_scale: float = 1.0  # multiplies every dropout rate (0 switches dropout off)
    clip_norm: float | None = None  # clip by global L2 norm
    clip_value: float | None = None  # clip every gradient element to ±value
    schedule: str = "constant"
    step_every: int = 1  # epochs between drops, for the step schedule
    step_gamma: float = 0.5
    min_lr_fraction: float = 0.01  # cosine schedule's floor, as a fraction of learning_rate
    train_size: int | None = None  # None = every training image
    augment: bool = False
    seed: int = 0


@dataclass(frozen=True)
class NetworkSpec:
    layers: tuple[LayerSpec, ...]
    output: OutputSpec = field(default_factory=OutputSpec)
    loss: str = "cross_entropy"
    hyperparams: Hyperparams = field(default_factory=Hyperparams)
    name: str = "custom"
    description: str = ""
    input_shape: tuple[int, ...] = INPUT_SHAPE

    @property
    def input_features(self) -> int:
        return math.prod(self.input_shape)

    def with_hyperparams(self, **changes: Any) -> NetworkSpec:
        return replace(self, hyperparams=replace(self.hyperparams, **changes))

    # ----------------------------------------------------------------- JSON
    def to_dict(self) -> dict[str, Any]:
        return {
            "format": FORMAT,
            "version": FORMAT_VERSION,
            "name": self.name,
            "description": self.description,
            "input": {"shape": list(self.input_shape)},
            "layers": [layer.to_dict() for layer in self.layers],
            "output": asdict(self.output),
            "loss": self.loss,
            "hyperparams": asdict(self.hyperparams),
        }

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), indent=2)

    @classmethod
    def from_json(cls, text: str) -> NetworkSpec:
        try:
            data = json.loads(text)
        except (json.JSONDecodeError, UnicodeDecodeError) as exc:
            raise SpecError(f"not valid JSON: {exc}") from None
        return cls.from_dict(data)

    @classmethod
    def from_dict(cls, data: Any) -> NetworkSpec:
        if not isinstance(data, dict):
            raise SpecError("a network description must be a JSON object")
        if data.get("format", FORMAT) != FORMAT:
            raise SpecError(f"not a Backprop Playground network (format {data.get('format')!r})")
        version = data.get("version", FORMAT_VERSION)
        if not isinstance(version, int) or version > FORMAT_VERSION:
            raise SpecError(f"network format version {version!r} is newer than this app reads")
        layers = data.get("layers")
        if not isinstance(layers, list):
            raise SpecError("'layers' must be a list of layer objects")
        spec = cls(
            layers=tuple(_layer_from_dict(item, f"layer {i}") for i, item in enumerate(layers, 1)),
            output=_dataclass_from_dict(OutputSpec, data.get("output", {}), "output"),
            loss=_expect(data.get("loss", "cross_entropy"), str, "loss"),
            hyperparams=_dataclass_from_dict(
                Hyperparams, data.get("hyperparams", {}), "hyperparams"
            ),
            name=_expect(data.get("name", "custom"), str, "name"),
            description=_expect(data.get("description", ""), str, "description"),
            input_shape=_input_shape_from_dict(data.get("input", {"shape": list(INPUT_SHAPE)})),
        )
        validate(spec)
        return spec


def dense(units: int, activation: str = "relu", init: str = "he", scale: float = 1.0) -> LayerSpec:
    return LayerSpec("dense", units=units, activation=activation, init=init, init_scale=scale)


# ---------------------------------------------------------------------- validation
def _choice(value: Any, options: tuple[str, ...], where: str) -> None:
    if value not in options:
        raise SpecError(f"{where}: unknown {value!r}; valid: {', '.join(options)}")


def layer_errors(layers: tuple[LayerSpec, ...], input_features: int = INPUT_FEATURES) -> list[str]:
    """Every problem with a list of blocks, as (1-based) located messages; [] when valid.

    The builder uses this to outline each offending block rather than stopping at the first.
    """
    errors: list[str] = []
    width = input_features
    for i, layer in enumerate(layers, 1):
        try:
            width = _check_layer(layer, width, f"layer {i}")
        except SpecError as exc:
            errors.append(str(exc))
    return errors


def _check_layer(layer: LayerSpec, width: int, where: str) -> int:
    """Validate one block fed ``width`` features; return its output width."""
    _choice(layer.type, LAYER_TYPES, f"{where} type")
    if layer.type == "dense":
        if isinstance(layer.units, bool) or not isinstance(layer.units, int):
            raise SpecError(f"{where} (dense): units must be a whole number, got {layer.units!r}")
        if not 1 <= layer.units <= MAX_UNITS:
            raise SpecError(f"{where} (dense): units must be 1..{MAX_UNITS}, got {layer.units}")
        _choice(layer.activation, ACTIVATIONS, f"{where} (dense) activation")
        _choice(layer.init, INITS, f"{where} (dense) init")
        _check_scale(layer.init_scale, f"{where} (dense)")
        return layer.units
    if layer.type == "activation":
        _choice(layer.activation, ACTIVATIONS, f"{where} activation")
    elif layer.type == "dropout":
        if not (isinstance(layer.rate, (int, float)) and 0.0 <= layer.rate < 1.0):
            raise SpecError(f"{where} (dropout): rate must be in [0, 1), got {layer.rate!r}")
    elif layer.type == "residual":
        if not layer.layers:
            raise SpecError(f"{where} (residual): needs at least one inner layer")
        if not any(inner.type == "dense" for inner in layer.layers):
            raise SpecError(f"{where} (residual): needs a dense layer inside to learn anything")
        inner_width = width
        for j, inner in enumerate(layer.layers, 1):
            if inner.type == "residual":
                raise SpecError(f"{where}.{j}: residual blocks cannot be nested")
            inner_width = _check_layer(inner, inner_width, f"{where}.{j}")
        if inner_width != width:
            raise SpecError(
                f"{where} (residual): its inner layers end at width {inner_width} but its input "
                f"has width {width}; y = x + F(x) needs both the same"
            )
    return width


def _check_scale(scale: Any, where: str) -> None:
    ok = isinstance(scale, (int, float)) and not isinstance(scale, bool)
    if not ok or not math.isfinite(scale) or not 0 <= scale <= 100:
        raise SpecError(f"{where}: init_scale must be a number in [0, 100], got {scale!r}")


def depth(layers: tuple[LayerSpec, ...]) -> int:
    """Number of blocks, counting a residual block's inner layers."""
    return sum(len(layer.layers) if layer.type == "residual" else 1 for layer in layers)


def validate(spec: NetworkSpec) -> None:
    """Raise SpecError with the first problem, said plainly."""
    if depth(spec.layers) > MAX_DEPTH:
        raise SpecError(f"too deep: {depth(spec.layers)} layers, at most {MAX_DEPTH}")
    _check_input_shape(spec.input_shape)
    errors = layer_errors(spec.layers, spec.input_features)
    if errors:
        raise SpecError(errors[0])
    units = spec.output.units
    if isinstance(units, bool) or not isinstance(units, int) or not 1 <= units <= MAX_UNITS:
        raise SpecError(f"output units must be a whole number 1..{MAX_UNITS}, got {units!r}")
    _choice(spec.output.activation, OUTPUT_ACTIVATIONS, "output activation")
    _choice(spec.output.init, INITS, "output init")
    _check_scale(spec.output.init_scale, "output")
    _choice(spec.loss, LOSSES, "loss")
    if spec.loss == "cross_entropy" and spec.output.activation != "softmax":
        raise SpecError("cross-entropy loss needs the softmax output; use MSE with sigmoid/linear")
    if spec.loss == "cross_entropy" and units < 2:
        raise SpecError(
            "cross-entropy over a softmax needs at least 2 outputs; for one output "
            "use binary cross-entropy with the sigmoid output"
        )
    if spec.loss == "binary_cross_entropy" and (units != 1 or spec.output.activation != "sigmoid"):
        raise SpecError(
            "binary cross-entropy needs exactly 1 output with the sigmoid activation, "
            f"got {units} output(s) with {spec.output.activation}"
        )
    validate_hyperparams(spec.hyperparams)


def validate_hyperparams(hp: Hyperparams) -> None:
    _choice(hp.optimizer, OPTIMIZERS, "optimizer")
    _choice(hp.schedule, SCHEDULES, "schedule")
    checks = [
        ("learning_rate", hp.learning_rate, 0.0, 100.0),
        ("momentum", hp.momentum, 0.0, 0.9999),
        ("beta2", hp.beta2, 0.0, 0.99999),
        ("l2", hp.l2, 0.0, 10.0),
        ("dropout_scale", hp.dropout_scale, 0.0, 1.0),
        ("step_gamma", hp.step_gamma, 0.0, 1.0),
        ("min_lr_fraction", hp.min_lr_fraction, 0.0, 1.0),
    ]
    for name, value, low, high in checks:
        if not isinstance(value, (int, float)) or not low <= value <= high:
            raise SpecError(f"{name} must be a number in [{low:g}, {high:g}], got {value!r}")
    for name in ("clip_norm", "clip_value"):
        value = getattr(hp, name)
        if value is not None and not (isinstance(value, (int, float)) and 0 < value < math.inf):
            raise SpecError(f"{name} must be off (null) or a positive number, got {value!r}")
    ints = [
        ("batch_size", hp.batch_size, 0),
        ("epochs", hp.epochs, 1),
        ("step_every", hp.step_every, 1),
    ]
    for name, value, low in ints:
        if isinstance(value, bool) or not isinstance(value, int) or value < low:
            raise SpecError(f"{name} must be a whole number >= {low}, got {value!r}")
    if hp.train_size is not None and (not isinstance(hp.train_size, int) or hp.train_size < 10):
        raise SpecError(
            f"train_size must be null (all) or a whole number >= 10, got {hp.train_size!r}"
        )
    if isinstance(hp.seed, bool) or not isinstance(hp.seed, int) or hp.seed < 0:
        raise SpecError(f"seed must be a whole number >= 0, got {hp.seed!r}")


def _check_input_shape(shape: Any) -> None:
    ok = (
        isinstance(shape, tuple)
        and 1 <= len(shape) <= 3
        and all(isinstance(n, int) and not isinstance(n, bool) and n >= 1 for n in shape)
    )
    if not ok:
        raise SpecError(
            f"input shape must be 1 to 3 positive whole numbers (features, or height, width, "
            f"channels), got {shape!r}"
        )
    if math.prod(shape) > MAX_INPUT_FEATURES:
        raise SpecError(
            f"input of {math.prod(shape):,} values is too large; at most {MAX_INPUT_FEATURES:,}"
        )


# ---------------------------------------------------------------------- parsing helpers
def _input_shape_from_dict(data: Any) -> tuple[int, ...]:
    if not isinstance(data, dict) or set(data) != {"shape"} or not isinstance(data["shape"], list):
        raise SpecError("'input' must be an object like {'shape': [28, 28, 1]}")
    shape = tuple(data["shape"])
    _check_input_shape(shape)
    return shape


def _expect(value: Any, kind: type, where: str) -> Any:
    if not isinstance(value, kind):
        raise SpecError(f"{where} must be a {kind.__name__}, got {value!r}")
    return value


def _layer_from_dict(item: Any, where: str) -> LayerSpec:
    if not isinstance(item, dict):
        raise SpecError(f"{where} must be an object like {{'type': 'dense', 'units': 64}}")
    kind = item.get("type")
    _choice(kind, LAYER_TYPES, f"{where} type")
    allowed = {
        "dense": {"units", "activation", "init", "init_scale"},
        "activation": {"activation"},
        "dropout": {"rate"},
        "batchnorm": set(),
        "residual": {"layers"},
    }[kind]
    unknown = set(item) - allowed - {"type"}
    if unknown:
        raise SpecError(f"{where} ({kind}): unknown setting(s) {', '.join(sorted(unknown))}")
    kwargs = {key: item[key] for key in allowed if key in item}
    if kind == "residual":
        inner = kwargs.get("layers", [])
        if not isinstance(inner, list):
            raise SpecError(f"{where} (residual): 'layers' must be a list")
        kwargs["layers"] = tuple(
            _layer_from_dict(sub, f"{where}.{j}") for j, sub in enumerate(inner, 1)
        )
    if kind == "dense" and "units" not in kwargs:
        raise SpecError(f"{where} (dense): 'units' is required")
    return LayerSpec(type=kind, **kwargs)


def _dataclass_from_dict(cls: type, data: Any, where: str) -> Any:
    if not isinstance(data, dict):
        raise SpecError(f"{where} must be an object")
    names = {f.name for f in fields(cls)}
    unknown = set(data) - names
    if unknown:
        raise SpecError(f"{where}: unknown setting(s) {', '.join(sorted(unknown))}")
    return cls(**data)
