"""Parameter update rules: SGD, momentum, Nesterov, RMSProp, Adam (clipping lives in clipping.py).

An optimiser owns all of its state (velocities, moment estimates, step count), preallocated per
parameter at construction, so a training step allocates nothing: every rule is a handful of in-place
ufunc calls into a work buffer, then ``value += update``. ``param.grad`` is never modified by
``step`` (diagnostics read it afterwards); the clipping functions, by design, do modify it.

Conventions (all shapes follow the parameter's ``value``):
- The learning rate is passed to every ``step`` (schedules change it), everything else is set at
  construction or with ``set_hyperparams`` between steps, which keeps the accumulated state.
- L2 weight decay is added to the gradient, ``g + weight_decay * w``, only for parameters with
  ``decay=True`` (weights, not biases), as in ``torch.optim.SGD(weight_decay=...)``.
- ``Momentum`` and ``Nesterov`` keep the learning rate inside the velocity (Sutskever et al. 2013),
  so a state saved by one loads into the other.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from typing import ClassVar

import numpy as np

from engine.files.spec import OPTIMIZERS, Hyperparams
from engine.layers.param_pack import Run, runs
from engine.layers.parameter import Parameter


class _Slot:
    """All the optimiser keeps for one run of parameters (``__slots__``: fast attribute access).

    A run is one parameter, or several packed back to back (engine.layers.param_pack): the update
    rules are element-wise, so one call over the run does the work of one per parameter.
    """

    __slots__ = ("buf", "decay_buf", "grad", "pieces", "state", "update", "value")

    def __init__(self, run: Run, opt: Optimizer) -> None:
        value = run.value
        self.value, self.grad, self.pieces = value, run.grad, run.pieces
        self.buf = np.empty_like(value)  # the update (or a scratch value on the way to it)
        # Weight decay builds the effective gradient here, leaving param.grad untouched. Sharing
        # ``buf`` keeps one array fewer in cache: SGD with decay on (784, 128) float32 went from
        # ~68 to ~44 µs.
        decay_buf = self.buf if opt._decay_in_buf else np.empty_like(value)
        self.decay_buf = decay_buf if run.decay else None
        self.state = tuple(np.zeros_like(value) for _ in opt.state_names)
        self.update: np.ndarray | None = None  # the array holding the last update applied


class Optimizer:
    """Base class: ``value += update`` for every parameter, ``update`` from the subclass rule.

    Subclasses set ``name`` (the Hyperparams spelling), ``state_names`` (per-parameter arrays that
    ``state_dict`` saves), ``hyper_names`` (their settings besides ``weight_decay``), ``aliases``
    (Hyperparams names for them) and implement ``_update``.
    """

    name = ""
    state_names: tuple[str, ...] = ()
    hyper_names: tuple[str, ...] = ()
    aliases: ClassVar[dict[str, str]] = {}  # Hyperparams name -> own name
    uses_step = False  # whether "step" (the update count) belongs in state_dict
    # Whether _update is done reading g when it first writes slot.buf, so the effective
    # (decayed) gradient may live in slot.buf itself.
    _decay_in_buf = False

    def __init__(self, params: Iterable[Parameter], *, weight_decay: float = 0.0) -> None:
        self.params: list[Parameter] = list(params)
        self.weight_decay = 0.0
        self.steps = 0  # updates applied so far (Adam's t)
        self._slots = [_Slot(run, self) for run in runs(self.params)]
        self.set_hyperparams(weight_decay=weight_decay)

    # ------------------------------------------------------------------ hyperparameters
    def set_hyperparams(self, **kw: float) -> None:
        """Change hyperparameters between steps; velocities and moments are kept.

        Takes ``weight_decay`` and this kind's ``hyper_names``, and also the Hyperparams spelling
        (``momentum`` is Adam's ``beta1``, ``beta2`` is RMSProp's ``rho``). A name only another
        kind uses is ignored, so one call with every setting suits any optimiser; a name no
        optimiser uses raises ValueError.
        """
        unknown = sorted(set(kw) - set(_RANGES))
        if unknown:
            raise ValueError(
                f"no optimizer hyperparameter {', '.join(unknown)}; valid: {', '.join(_RANGES)}"
            )
        own = ("weight_decay", *self.hyper_names)
        changes: dict[str, float] = {}
        for given, value in kw.items():
            key = self.aliases.get(given, given)
            if key not in own or (key != given and key in kw):
                continue  # another kind's setting, or an alias overridden by the own name
            value = float(value)  # a NumPy scalar would make in-place float32 ops run in float64
            low, high, high_open = _RANGES[key]
            if not (low <= value < high if high_open else low <= value <= high):
                bracket = ")" if high_open else "]"
                raise ValueError(f"{key} must be in [{low:g}, {high:g}{bracket}, got {value!r}")
            changes[key] = value
        for key, value in changes.items():  # all or nothing
            setattr(self, key, value)

    def hyperparams(self) -> dict[str, float]:
        """The current hyperparameters, by the names ``set_hyperparams`` accepts."""
        return {key: getattr(self, key) for key in ("weight_decay", *self.hyper_names)}

    # ------------------------------------------------------------------ the update
    def zero_grad(self) -> None:
        """Set every gradient to zero (layers overwrite grads, so training does not need this)."""
        for p in self.params:
            p.grad.fill(0)

    def step(self, lr: float, *, measure: bool = False) -> dict[Parameter, float] | None:
        """Apply one update to every parameter in place, from ``param.grad``.

        With ``measure=True`` return ``{param: L2 norm of the update applied}`` (for the
        update-to-weight ratio), else None.
        """
        lr = float(lr)
        self.steps += 1
        self._prepare(lr)
        wd = self.weight_decay
        norms: dict[Parameter, float] | None = {} if measure else None
        # Locals: in deep nets of small layers the Python overhead per parameter is comparable
        # to the ufunc calls themselves (measured ~1.1 vs ~0.9 µs per parameter for SGD).
        update_rule, add, vdot, sqrt = self._update, np.add, np.vdot, math.sqrt
        for slot in self._slots:
            value, g = slot.value, slot.grad
            if wd and slot.decay_buf is not None:
                g = np.multiply(value, wd, out=slot.decay_buf)
                g += slot.grad
            update = slot.update = update_rule(slot, g, lr)
            add(value, update, out=value)
            if norms is not None:
                for p, part in slot.pieces:
                    piece = update[part]
                    norms[p] = sqrt(vdot(piece, piece))
        return norms

    def update_norms(self) -> dict[Parameter, float]:
        """``{param: L2 norm}`` of the last update applied: what ``step(measure=True)`` returned.

        Computed only when asked (the trainer's diagnostics, ~30 times a second, rather than a
        pass over every update array each step). Each rule leaves its update in one of the slot's
        own arrays, intact until the next ``step`` or ``load_state_dict``. Empty before any step.
        """
        sqrt, vdot = math.sqrt, np.vdot
        norms = {}
        for slot in self._slots:
            if slot.update is not None:
                for p, part in slot.pieces:
                    piece = slot.update[part]
                    norms[p] = sqrt(vdot(piece, piece))
        return norms

    def _prepare(self, lr: float) -> None:
        """Per-step scalars shared by all parameters (Adam's bias corrections)."""

    def _update(self, slot: _Slot, g: np.ndarray, lr: float) -> np.ndarray:
        """Write this parameter's update into a buffer of ``slot`` and return that buffer."""
        raise NotImplementedError

    # ------------------------------------------------------------------ state
    def _keys(self) -> list[tuple[str, np.ndarray]]:
        names = [p.name for p in self.params]
        if len(set(names)) != len(names):
            dupes = sorted({n for n in names if names.count(n) > 1})
            raise ValueError(f"parameter names must be unique to save state; repeated: {dupes}")
        return [
            (f"{p.name}.{state_name}", array[part].reshape(p.value.shape))
            for slot in self._slots
            for p, part in slot.pieces
            for state_name, array in zip(self.state_names, slot.state, strict=True)
        ]

    def state_dict(self) -> dict[str, np.ndarray]:
        """Copies of the state arrays, keyed ``"{param.name}.{state}"``, plus ``"step"`` if used."""
        out = {key: array.copy() for key, array in self._keys()}
        if self.uses_step:
            out["step"] = np.array(self.steps, dtype=np.int64)
        return out

    def load_state_dict(self, d: dict[str, np.ndarray]) -> None:
        """Copy saved state into this optimiser's arrays; ValueError says what does not fit."""
        kind = type(self).__name__
        expected = self._keys()
        wanted = {key for key, _ in expected} | ({"step"} if self.uses_step else set())
        missing = sorted(wanted - set(d))
        if missing:
            raise ValueError(f"{kind} state is missing {', '.join(missing)}")
        extra = sorted(set(d) - wanted)
        if extra:
            raise ValueError(
                f"{kind} state has unexpected {', '.join(extra)} (saved by another optimiser?)"
            )
        for key, array in expected:
            saved = np.asarray(d[key])
            if saved.shape != array.shape:
                raise ValueError(
                    f"{kind} state {key} has shape {saved.shape}, the parameter has {array.shape}"
                )
            if not np.issubdtype(saved.dtype, np.floating):
                raise ValueError(f"{kind} state {key} holds {saved.dtype}, not floating point")
        step = np.asarray(d.get("step", self.steps))
        if step.shape != () or not np.issubdtype(step.dtype, np.integer) or int(step) < 0:
            raise ValueError(f"{kind} state 'step' must be a whole number >= 0, got {step!r}")
        # Only copy once everything is known to fit, so a failed load changes nothing.
        for key, array in expected:
            np.copyto(array, d[key], casting="same_kind")
        self.steps = int(step)


# Ranges set_hyperparams enforces: (low, high, high end open?).
_RANGES = {
    "weight_decay": (0.0, math.inf, True),
    "momentum": (0.0, 1.0, True),
    "beta1": (0.0, 1.0, True),
    "beta2": (0.0, 1.0, True),
    "rho": (0.0, 1.0, True),
    "eps": (0.0, math.inf, True),
}


class SGD(Optimizer):
    """Plain gradient descent: ``w -= lr * g``."""

    name = "sgd"
    _decay_in_buf = True

    def _update(self, slot: _Slot, g: np.ndarray, lr: float) -> np.ndarray:
        return np.multiply(g, -lr, out=slot.buf)


class Momentum(Optimizer):
    """Classic (heavy-ball) momentum: ``v = μ v - lr g;  w += v``."""

    name = "momentum"
    state_names = ("velocity",)
    hyper_names = ("momentum",)
    _decay_in_buf = True

    def __init__(
        self, params: Iterable[Parameter], momentum: float = 0.9, *, weight_decay: float = 0.0
    ) -> None:
        self.momentum = 0.0
        super().__init__(params, weight_decay=weight_decay)
        self.set_hyperparams(momentum=momentum)

    def _update(self, slot: _Slot, g: np.ndarray, lr: float) -> np.ndarray:
        (v,) = slot.state
        v *= self.momentum
        v -= np.multiply(g, lr, out=slot.buf)
        return v


class Nesterov(Momentum):
    """Nesterov momentum in the form of Sutskever et al. (2013), as reformulated by Bengio et al.

    ``v' = μ v - lr g;  w += μ v' - lr g`` with ``g`` taken at the current weights. With a constant
    learning rate this is step for step the same as PyTorch's ``SGD(nesterov=True)`` (whose buffer
    is ``-v / lr``); here the velocity holds the learning rate, as in ``Momentum``.
    """

    name = "nesterov"

    def _update(self, slot: _Slot, g: np.ndarray, lr: float) -> np.ndarray:
        (v,) = slot.state
        mu = self.momentum
        buf = slot.buf
        if mu == 0.0:  # plain SGD; the factoring below divides by μ
            np.multiply(g, -lr, out=buf)
            v[...] = buf
            return buf
        # Factored through μ so that no second work buffer is needed (one array fewer in cache:
        # 50 instead of 57 µs on (784, 128) float32):
        # v' = μ (v - lr g / μ),  update = μ v' - lr g = μ (v' - lr g / μ).
        np.multiply(g, lr / mu, out=buf)
        v -= buf
        v *= mu  # v'
        np.subtract(v, buf, out=buf)
        buf *= mu
        return buf


class RMSProp(Optimizer):
    """RMSProp (Hinton, lecture 6e): ``s = ρ s + (1-ρ) g²;  w -= lr g / (√s + eps)``.

    ``eps`` is added outside the square root, as PyTorch does.
    """

    name = "rmsprop"
    state_names = ("mean_square",)
    hyper_names = ("rho", "eps")
    aliases: ClassVar[dict[str, str]] = {"beta2": "rho"}

    def __init__(
        self,
        params: Iterable[Parameter],
        rho: float = 0.9,
        eps: float = 1e-8,
        *,
        weight_decay: float = 0.0,
    ) -> None:
        self.rho = self.eps = 0.0
        super().__init__(params, weight_decay=weight_decay)
        self.set_hyperparams(rho=rho, eps=eps)

    def _update(self, slot: _Slot, g: np.ndarray, lr: float) -> np.ndarray:
        (s,) = slot.state
        buf = _root_mean_square(s, g, self.rho, self.eps, out=slot.buf)
        np.divide(g, buf, out=buf)
        buf *= -lr
        return buf


def _root_mean_square(
    mean_square: np.ndarray, g: np.ndarray, decay: float, eps: float, *, out: np.ndarray
) -> np.ndarray:
    """RMSProp's and Adam's second moment: ``s = decay s + (1-decay) g²`` in place, then
    ``√s + eps`` into ``out``, which is returned."""
    np.square(g, out=out)
    out *= 1.0 - decay
    mean_square *= decay
    mean_square += out
    np.sqrt(mean_square, out=out)
    out += eps
    return out


class Adam(Optimizer):
    """Adam (Kingma & Ba 2015) with bias correction.

    ``m = β1 m + (1-β1) g;  v = β2 v + (1-β2) g²;  w -= lr m̂ / (√v̂ + eps)`` with
    ``m̂ = m / (1-β1^t)``, ``v̂ = v / (1-β2^t)``. Computed as the paper's section 2 suggests,
    ``-lr √(1-β2^t)/(1-β1^t) · m / (√v + eps √(1-β2^t))``, which is the same number with two fewer
    array passes. Bias correction uses the current betas, so changing them mid-run is approximate.
    """

    name = "adam"
    state_names = ("m", "v")
    hyper_names = ("beta1", "beta2", "eps")
    aliases: ClassVar[dict[str, str]] = {"momentum": "beta1"}
    uses_step = True

    def __init__(
        self,
        params: Iterable[Parameter],
        beta1: float = 0.9,
        beta2: float = 0.999,
        eps: float = 1e-8,
        *,
        weight_decay: float = 0.0,
    ) -> None:
        self.beta1 = self.beta2 = self.eps = 0.0
        self._step_size = self._eps_hat = 0.0
        super().__init__(params, weight_decay=weight_decay)
        self.set_hyperparams(beta1=beta1, beta2=beta2, eps=eps)

    def _prepare(self, lr: float) -> None:
        t = self.steps
        root_bc2 = math.sqrt(1.0 - self.beta2**t)
        self._step_size = -lr * root_bc2 / (1.0 - self.beta1**t)
        self._eps_hat = self.eps * root_bc2

    def _update(self, slot: _Slot, g: np.ndarray, lr: float) -> np.ndarray:
        m, v = slot.state
        buf = np.subtract(g, m, out=slot.buf)
        buf *= 1.0 - self.beta1
        m += buf  # m + (1-β1)(g - m) = β1 m + (1-β1) g
        _root_mean_square(v, g, self.beta2, self._eps_hat, out=buf)
        np.divide(m, buf, out=buf)
        buf *= self._step_size
        return buf


OPTIMIZER_CLASSES: dict[str, type[Optimizer]] = {
    cls.name: cls for cls in (SGD, Momentum, Nesterov, RMSProp, Adam)
}


def make_optimizer(hp: Hyperparams, params: Iterable[Parameter]) -> Optimizer:
    """A fresh optimiser of kind ``hp.optimizer`` configured from ``hp``: ``momentum`` (Adam's
    beta1 too), ``beta2`` (RMSProp's rho too), ``l2`` as the weight decay."""
    if hp.optimizer not in OPTIMIZER_CLASSES:
        raise ValueError(f"unknown optimizer {hp.optimizer!r}; valid: {', '.join(OPTIMIZERS)}")
    opt = OPTIMIZER_CLASSES[hp.optimizer](params)
    opt.set_hyperparams(momentum=hp.momentum, beta2=hp.beta2, weight_decay=hp.l2)
    return opt


def update_optimizer(opt: Optimizer, hp: Hyperparams) -> Optimizer:
    """Apply changed Hyperparams between steps: the same optimiser, state kept, when
    ``hp.optimizer`` names its kind, else a fresh one over the same parameters."""
    if opt.name != hp.optimizer:
        return make_optimizer(hp, opt.params)
    opt.set_hyperparams(momentum=hp.momentum, beta2=hp.beta2, weight_decay=hp.l2)
    return opt
