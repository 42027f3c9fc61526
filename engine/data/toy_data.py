"""Toy data sets on a 2-D plane (TensorFlow Playground style): seeded generators, a stratified
train/test split, and the user's own clicked points.

Every data set lives in the plane ``[-PLANE, PLANE]²`` (``PLANE = 6``, as in TF Playground), the
square the decision-boundary view draws; generated shapes reach out to a radius of about 5 and
noise never pushes a point outside the plane (points are clipped to it). The 1-D regression data
(``sine``) has ``x`` in ``[-PLANE, PLANE]`` and targets ``sin x`` plus noise.

A generator draws everything from ``np.random.default_rng(seed)`` in float64 and casts once to
float32, so the same ``(name, n, noise, seed)`` gives the same arrays bit for bit. Classification
sets are balanced (``n // 2`` and ``n - n // 2`` points) and shuffled so the classes interleave.
``noise`` in ``[0, 1]`` is Gaussian jitter added to the points, with standard deviation
``noise · NOISE_STD`` (``sine``: on the targets, standard deviation ``noise · SINE_NOISE_STD``).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

PLANE = 6.0  # the data plane is [-PLANE, PLANE]² (TF Playground's square)
RADIUS = 5.0  # how far generated shapes reach before noise
NOISE_STD = 1.0  # jitter standard deviation at noise = 1, in plane units
SINE_NOISE_STD = 0.5  # target noise standard deviation of "sine" at noise = 1
MAX_POINTS = 100_000

CLASSIFICATION = ("xor", "circles", "gaussians", "spirals", "moons", "linear")
REGRESSION = ("sine",)
DATASETS = CLASSIFICATION + REGRESSION

CLASS_A, CLASS_B = 0, 1  # user points: class A (click), class B (shift-click)


class ToyDataError(ValueError):
    """Toy points or settings that cannot make a data set; the message is for a person."""


@dataclass(frozen=True, eq=False)
class ToyData:
    """Points on the plane with their labels.

    ``points``: (N, D) float32, D = 2 (D = 1 for regression), every value in ``[-PLANE, PLANE]``.
    ``labels``: (N,) uint8 classes 0/1 for classification; (N,) float32 targets for regression.
    Both are stored as read-only arrays, so a data set can be shared between threads safely.
    """

    points: np.ndarray
    labels: np.ndarray
    name: str = "toy"

    def __post_init__(self) -> None:
        points = np.asarray(self.points)
        labels = np.asarray(self.labels)
        if points.dtype != np.float32 or points.ndim != 2 or points.shape[1] not in (1, 2):
            raise ToyDataError(
                f"{self.name}: points must be float32 of shape (N, 2) or (N, 1), "
                f"got {points.dtype} {points.shape}"
            )
        if labels.shape != (len(points),):
            raise ToyDataError(
                f"{self.name}: {len(points)} points need labels of shape ({len(points)},), "
                f"got {labels.shape}"
            )
        if labels.dtype == np.uint8:
            if len(labels) and labels.max() > 1:
                raise ToyDataError(f"{self.name}: class labels must be 0 or 1")
        elif labels.dtype != np.float32:
            raise ToyDataError(
                f"{self.name}: labels must be uint8 classes or float32 targets, got {labels.dtype}"
            )
        if not np.all(np.isfinite(points)) or not np.all(np.isfinite(labels)):
            raise ToyDataError(f"{self.name}: points and labels must be finite numbers")
        if len(points) and np.max(np.abs(points)) > PLANE:
            raise ToyDataError(f"{self.name}: points must lie in the plane [-{PLANE:g}, {PLANE:g}]")
        points, labels = points.view(), labels.view()
        points.flags.writeable = False
        labels.flags.writeable = False
        object.__setattr__(self, "points", points)
        object.__setattr__(self, "labels", labels)

    def __len__(self) -> int:
        return len(self.labels)

    def __repr__(self) -> str:
        return f"ToyData({self.name!r}, {len(self)} points)"

    @property
    def is_regression(self) -> bool:
        return self.labels.dtype == np.float32

    @property
    def dims(self) -> int:
        """Coordinates per point: 2, or 1 for the 1-D regression."""
        return int(self.points.shape[1])

    def subset(self, indices: np.ndarray | Sequence[int], name: str | None = None) -> ToyData:
        """The points at ``indices`` (integer array or boolean mask), copied."""
        idx = np.asarray(indices)
        return ToyData(self.points[idx], self.labels[idx], self.name if name is None else name)

    def class_counts(self) -> np.ndarray:
        """(2,) int64: points of class 0 and of class 1 (classification only)."""
        if self.is_regression:
            raise ToyDataError(f"{self.name}: a regression data set has no classes")
        return np.bincount(self.labels, minlength=2).astype(np.int64)


# ---------------------------------------------------------------------- generators
# Each draws its noise-free shape: (points (N, 2) float64, labels (N,) uint8) for the class
# sizes (n0, n1); make_toy adds the jitter, clips to the plane and shuffles.
Shape = Callable[[np.random.Generator, int, int], tuple[np.ndarray, np.ndarray]]


def _labels(n0: int, n1: int) -> np.ndarray:
    return np.repeat(np.array([0, 1], dtype=np.uint8), [n0, n1])


def _polar(r: np.ndarray, angle: np.ndarray) -> np.ndarray:
    return np.stack([r * np.cos(angle), r * np.sin(angle)], axis=1)


def _xor(rng: np.random.Generator, n0: int, n1: int) -> tuple[np.ndarray, np.ndarray]:
    """Four discs of radius 1.5 at (±3, ±3): class 1 at (3, 3) and (-3, -3), class 0 at the other
    two corners. The articles' XOR (four corners) with spread: a 2-2-1 network separates it with
    two parallel lines, which it cannot do for TF Playground's quadrant-filling XOR (class by the
    sign of x1·x2 up to the axes), where the two boundaries cross."""
    labels = _labels(n0, n1)
    sign1 = rng.choice(np.array([-1.0, 1.0]), size=n0 + n1)
    sign2 = np.where(labels == 1, sign1, -sign1)
    centres = 3.0 * np.stack([sign1, sign2], axis=1)
    offsets = _polar(
        1.5 * np.sqrt(rng.uniform(0, 1, n0 + n1)), rng.uniform(0, 2 * math.pi, n0 + n1)
    )
    return centres + offsets, labels


def _circles(rng: np.random.Generator, n0: int, n1: int) -> tuple[np.ndarray, np.ndarray]:
    """Class 1: a disc of radius 2.5; class 0: a ring from 3.5 to 5 around it."""
    r = np.concatenate([rng.uniform(0.7 * RADIUS, RADIUS, n0), rng.uniform(0, 0.5 * RADIUS, n1)])
    return _polar(r, rng.uniform(0, 2 * math.pi, n0 + n1)), _labels(n0, n1)


def _gaussians(rng: np.random.Generator, n0: int, n1: int) -> tuple[np.ndarray, np.ndarray]:
    """Two round clouds of standard deviation 1: class 0 around (-2, -2), class 1 around (2, 2)."""
    labels = _labels(n0, n1)
    centres = np.where(labels[:, None] == 1, 2.0, -2.0)
    return centres + rng.standard_normal((n0 + n1, 2)), labels


def _spirals(rng: np.random.Generator, n0: int, n1: int) -> tuple[np.ndarray, np.ndarray]:
    """Two interleaved arms turning 1.75 times from the centre out to radius 5 (TF Playground's
    spiral), class 1 the other arm rotated by half a turn."""
    labels = _labels(n0, n1)
    u = rng.uniform(0, 1, n0 + n1)
    angle = 1.75 * 2 * math.pi * u + math.pi * labels
    return _polar(RADIUS * u, angle), labels


def _moons(rng: np.random.Generator, n0: int, n1: int) -> tuple[np.ndarray, np.ndarray]:
    """Two interleaved half circles (scikit-learn's make_moons), scaled to span x1 in [-5, 5]."""
    t = rng.uniform(0, math.pi, n0 + n1)
    labels = _labels(n0, n1)
    upper = np.stack([np.cos(t), np.sin(t)], axis=1)
    lower = np.stack([1 - np.cos(t), 0.5 - np.sin(t)], axis=1)
    points = np.where(labels[:, None] == 0, upper, lower)
    return (points - [0.5, 0.25]) * (RADIUS / 1.5), labels


def _linear(rng: np.random.Generator, n0: int, n1: int) -> tuple[np.ndarray, np.ndarray]:
    """A disc of radius 5 cut by a line through the centre at a seeded angle, with a margin of
    0.5 on each side: one neuron can separate it."""
    labels = _labels(n0, n1)
    across = rng.uniform(0.5, RADIUS, n0 + n1)
    along = rng.uniform(-1, 1, n0 + n1) * np.sqrt(RADIUS**2 - across**2)
    across = np.where(labels == 1, across, -across)
    theta = rng.uniform(0, 2 * math.pi)
    c, s = math.cos(theta), math.sin(theta)
    return np.stack([c * along - s * across, s * along + c * across], axis=1), labels


SHAPES: dict[str, Shape] = {
    "xor": _xor,
    "circles": _circles,
    "gaussians": _gaussians,
    "spirals": _spirals,
    "moons": _moons,
    "linear": _linear,
}


def make_toy(name: str, n: int, *, noise: float = 0.0, seed: int = 0) -> ToyData:
    """``n`` points of the named data set (see ``DATASETS``), reproducible from ``seed``.

    Classification: points (n, 2), labels balanced (``n // 2`` of class 0). ``sine``: x (n, 1)
    uniform in the plane, float32 targets ``sin x + N(0, (noise · SINE_NOISE_STD)²)``.
    Raises ToyDataError for an unknown name, ``n`` outside ``2..MAX_POINTS``, ``noise`` outside
    ``[0, 1]`` or a negative seed.
    """
    if name not in DATASETS:
        raise ToyDataError(f"unknown toy data set {name!r}; valid: {', '.join(DATASETS)}")
    if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or not 2 <= n <= MAX_POINTS:
        raise ToyDataError(f"number of points must be a whole number 2..{MAX_POINTS}, got {n!r}")
    if not (isinstance(noise, (int, float)) and 0.0 <= noise <= 1.0):
        raise ToyDataError(f"noise must be a number in [0, 1], got {noise!r}")
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
        raise ToyDataError(f"seed must be a whole number >= 0, got {seed!r}")
    rng = np.random.default_rng(seed)
    n = int(n)
    if name == "sine":
        x = rng.uniform(-PLANE, PLANE, (n, 1))
        y = np.sin(x[:, 0]) + rng.standard_normal(n) * (noise * SINE_NOISE_STD)
        return ToyData(x.astype(np.float32), y.astype(np.float32), name)
    points, labels = SHAPES[name](rng, n // 2, n - n // 2)
    points += rng.standard_normal(points.shape) * (noise * NOISE_STD)
    np.clip(points, -PLANE, PLANE, out=points)
    order = rng.permutation(n)
    return ToyData(points[order].astype(np.float32), labels[order], name)


# ---------------------------------------------------------------------- split
def split_toy(data: ToyData, train_ratio: float, *, seed: int = 0) -> tuple[ToyData, ToyData]:
    """``(train, test)``: a seeded random ``train_ratio`` of the points for training, the rest
    for testing. Classification splits each class on its own (stratified) and keeps at least one
    point of every class in training; ``train_ratio = 1`` leaves the test set empty.
    """
    if not (isinstance(train_ratio, (int, float)) and 0.0 < train_ratio <= 1.0):
        raise ToyDataError(f"train ratio must be a number in (0, 1], got {train_ratio!r}")
    rng = np.random.default_rng(seed)
    groups = (
        [np.arange(len(data))]
        if data.is_regression
        else [np.flatnonzero(data.labels == c) for c in (0, 1)]
    )
    train_parts = []
    for group in groups:
        if len(group):
            take = min(len(group), max(1, round(train_ratio * len(group))))
            train_parts.append(rng.permutation(group)[:take])
    train = np.zeros(len(data), dtype=bool)
    train[np.concatenate(train_parts)] = True
    return data.subset(train, f"{data.name} (train)"), data.subset(~train, f"{data.name} (test)")


# ---------------------------------------------------------------------- the user's points
def from_user_points(
    class_a: np.ndarray | Sequence[Sequence[float]],
    class_b: np.ndarray | Sequence[Sequence[float]],
    *,
    name: str = "your points",
) -> ToyData:
    """A data set from points the user placed: class A (label 0) first, then class B (label 1).

    Each argument is a sequence of ``(x1, x2)`` pairs (an (N, 2) array, possibly empty). Raises
    ToyDataError, with a one-line message saying what to do, when there are no points, only one
    class, a pair that is not two numbers, a NaN or infinity, or a point outside the plane.
    """
    arrays = [_user_array(class_a, "A"), _user_array(class_b, "B")]
    n_a, n_b = len(arrays[0]), len(arrays[1])
    if n_a + n_b == 0:
        raise ToyDataError("no points yet: click to place class A, shift-click for class B")
    if n_b == 0:
        raise ToyDataError("only class A points: shift-click to add at least one class B point")
    if n_a == 0:
        raise ToyDataError("only class B points: click to add at least one class A point")
    if n_a + n_b > MAX_POINTS:
        raise ToyDataError(f"too many points: {n_a + n_b}, at most {MAX_POINTS}")
    points = np.concatenate(arrays).astype(np.float32)
    return ToyData(points, _labels(n_a, n_b), name)


def _user_array(points: np.ndarray | Sequence[Sequence[float]], cls: str) -> np.ndarray:
    try:
        array = np.asarray(points, dtype=np.float64)
    except (TypeError, ValueError):
        raise ToyDataError(f"class {cls} points must be pairs of numbers (x1, x2)") from None
    if array.size == 0:
        return np.zeros((0, 2))
    if array.ndim != 2 or array.shape[1] != 2:
        raise ToyDataError(
            f"class {cls} points must be pairs (x1, x2), an (N, 2) array; got shape {array.shape}"
        )
    bad = np.flatnonzero(~np.all(np.isfinite(array), axis=1))
    if len(bad):
        x1, x2 = array[bad[0]]
        raise ToyDataError(f"class {cls} point {bad[0] + 1} is not a number: ({x1}, {x2})")
    outside = np.flatnonzero(np.any(np.abs(array) > PLANE, axis=1))
    if len(outside):
        x1, x2 = array[outside[0]]
        raise ToyDataError(
            f"class {cls} point {outside[0] + 1} at ({x1:g}, {x2:g}) is outside the plane "
            f"[-{PLANE:g}, {PLANE:g}]"
        )
    return array
