"""Toy data sets: every generator's shape, balance, reproducibility, noise and plane; the split;
the user's own points."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from engine.data.toy_data import (
    CLASSIFICATION,
    DATASETS,
    NOISE_STD,
    PLANE,
    RADIUS,
    SINE_NOISE_STD,
    ToyData,
    ToyDataError,
    from_user_points,
    make_toy,
    split_toy,
)


@pytest.mark.parametrize("name", CLASSIFICATION)
@pytest.mark.parametrize("n", [2, 301])
def test_classification_shape_dtype_and_balance(name: str, n: int) -> None:
    data = make_toy(name, n, noise=0.2, seed=3)
    assert data.points.shape == (n, 2)
    assert data.points.dtype == np.float32
    assert data.labels.shape == (n,)
    assert data.labels.dtype == np.uint8
    assert data.class_counts().tolist() == [n // 2, n - n // 2]
    assert not data.is_regression
    assert data.dims == 2
    assert not data.points.flags.writeable
    assert not data.labels.flags.writeable


@pytest.mark.parametrize("name", DATASETS)
def test_same_seed_same_bits_other_seed_other_points(name: str) -> None:
    first = make_toy(name, 200, noise=0.3, seed=11)
    again = make_toy(name, 200, noise=0.3, seed=11)
    assert first.points.tobytes() == again.points.tobytes()
    assert first.labels.tobytes() == again.labels.tobytes()
    other = make_toy(name, 200, noise=0.3, seed=12)
    assert not np.array_equal(first.points, other.points)


@pytest.mark.parametrize("name", CLASSIFICATION)
def test_noise_is_jitter_of_the_stated_spread(name: str) -> None:
    """The seed fixes the shape and the order; noise only scales the jitter added to each point."""
    n = 4000
    clean = make_toy(name, n, noise=0.0, seed=5)
    noisy = make_toy(name, n, noise=0.5, seed=5)
    np.testing.assert_array_equal(clean.labels, noisy.labels)
    jitter = (noisy.points - clean.points).astype(np.float64)
    inside = np.all(np.abs(noisy.points) < PLANE, axis=1)  # clipped points jitter less
    assert inside.mean() > 0.9
    assert np.std(jitter[inside]) == pytest.approx(0.5 * NOISE_STD, rel=0.1)


@pytest.mark.parametrize("name", CLASSIFICATION)
def test_noise_free_shapes_stay_near_radius_and_everything_inside_the_plane(name: str) -> None:
    clean = make_toy(name, 2000, noise=0.0, seed=1)
    if name != "gaussians":  # unbounded clouds: only the plane limits them
        assert np.max(np.abs(clean.points)) <= RADIUS + 1e-5
    noisy = make_toy(name, 2000, noise=1.0, seed=1)
    assert np.max(np.abs(noisy.points)) <= PLANE


def test_xor_classes_by_quadrant_with_a_gap_around_the_axes() -> None:
    data = make_toy("xor", 1000, seed=2)
    x1, x2 = data.points.T.astype(np.float64)
    np.testing.assert_array_equal(data.labels, (x1 * x2 > 0).astype(np.uint8))
    assert np.min(np.abs(data.points)) >= 1.5 - 1e-6
    # Every corner is used, so the data is XOR and not two clusters.
    corners = {(float(np.sign(a)), float(np.sign(b))) for a, b in zip(x1, x2, strict=True)}
    assert len(corners) == 4


def test_circles_disc_inside_ring() -> None:
    data = make_toy("circles", 1000, seed=2)
    r = np.hypot(*data.points.T.astype(np.float64))
    assert np.max(r[data.labels == 1]) <= 0.5 * RADIUS + 1e-5
    assert np.min(r[data.labels == 0]) >= 0.7 * RADIUS - 1e-5


def test_gaussian_means() -> None:
    data = make_toy("gaussians", 4000, seed=2)
    np.testing.assert_allclose(data.points[data.labels == 1].mean(axis=0), [2, 2], atol=0.1)
    np.testing.assert_allclose(data.points[data.labels == 0].mean(axis=0), [-2, -2], atol=0.1)


def test_spiral_arms_are_half_a_turn_apart() -> None:
    data = make_toy("spirals", 1000, seed=2)
    p = data.points.astype(np.float64)
    r = np.hypot(p[:, 0], p[:, 1])
    angle = np.arctan2(p[:, 1], p[:, 0])
    # On arm c the angle is 1.75·2π·(r/5) + c·π (mod 2π).
    expected = 1.75 * 2 * math.pi * r / RADIUS + math.pi * data.labels
    wrapped = np.angle(np.exp(1j * (angle - expected)))
    assert np.max(np.abs(wrapped[r > 0.1])) < 1e-4


def test_moons_interleave() -> None:
    data = make_toy("moons", 1000, seed=2)
    upper, lower = data.points[data.labels == 0], data.points[data.labels == 1]
    # Each moon reaches past the other's tip along x1: a line cannot separate them.
    assert upper[:, 0].max() > lower[:, 0].min()
    assert lower[:, 0].max() > upper[:, 0].min()
    assert upper[:, 1].mean() > lower[:, 1].mean()


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_linear_is_separable_by_a_line_through_the_centre(seed: int) -> None:
    data = make_toy("linear", 500, seed=seed)
    angles = np.linspace(0, 2 * math.pi, 3600, endpoint=False)
    normals = np.stack([np.cos(angles), np.sin(angles)])
    projections = data.points.astype(np.float64) @ normals  # (N, 3600)
    gap = projections[data.labels == 1].min(axis=0) - projections[data.labels == 0].max(axis=0)
    assert gap.max() > 0.9  # margin 0.5 on each side, found to within the angle grid


def test_sine_regression() -> None:
    data = make_toy("sine", 500, noise=0.0, seed=4)
    assert data.points.shape == (500, 1)
    assert data.labels.dtype == np.float32
    assert data.is_regression
    assert data.dims == 1
    np.testing.assert_allclose(data.labels, np.sin(data.points[:, 0]), atol=1e-6)
    assert np.max(np.abs(data.points)) <= PLANE
    noisy = make_toy("sine", 5000, noise=0.4, seed=4)
    residual = noisy.labels - np.sin(noisy.points[:, 0])
    assert np.std(residual) == pytest.approx(0.4 * SINE_NOISE_STD, rel=0.1)
    with pytest.raises(ToyDataError, match="no classes"):
        data.class_counts()


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"name": "swirl"}, "unknown toy data set 'swirl'; valid: xor, circles"),
        ({"n": 1}, "number of points must be a whole number 2.."),
        ({"n": True}, "number of points"),
        ({"n": 2.5}, "number of points"),
        ({"noise": -0.1}, r"noise must be a number in \[0, 1\]"),
        ({"noise": 1.5}, "noise"),
        ({"noise": math.nan}, "noise"),
        ({"seed": -1}, "seed must be a whole number >= 0"),
    ],
)
def test_bad_generator_settings_say_what_is_valid(kwargs: dict, message: str) -> None:
    args = {"name": "xor", "n": 10, "noise": 0.0, "seed": 0} | kwargs
    with pytest.raises(ToyDataError, match=message):
        make_toy(args.pop("name"), args.pop("n"), **args)


# ---------------------------------------------------------------------- split
def _rows(points: np.ndarray) -> list[tuple[float, ...]]:
    return sorted(map(tuple, points.tolist()))


@pytest.mark.parametrize("ratio", [0.1, 0.5, 0.8])
def test_split_is_stratified_disjoint_complete_and_seeded(ratio: float) -> None:
    data = make_toy("spirals", 301, noise=0.1, seed=0)
    train, test = split_toy(data, ratio, seed=7)
    counts = data.class_counts()
    np.testing.assert_array_equal(train.class_counts(), np.round(ratio * counts))
    assert len(train) + len(test) == len(data)
    assert _rows(np.concatenate([train.points, test.points])) == _rows(data.points)
    again, _ = split_toy(data, ratio, seed=7)
    assert train.points.tobytes() == again.points.tobytes()
    other, _ = split_toy(data, ratio, seed=8)
    assert not np.array_equal(train.points, other.points)
    assert train.name == "spirals (train)"
    assert test.name == "spirals (test)"


def test_split_keeps_a_point_of_each_class_for_training_and_ratio_one_tests_nothing() -> None:
    data = from_user_points([[0.0, 0.0]], [[1.0, 1.0], [2.0, 2.0]])
    train, test = split_toy(data, 0.1, seed=0)
    assert train.class_counts().tolist() == [1, 1]
    assert len(test) == 1
    train, test = split_toy(data, 1.0, seed=0)
    assert len(train) == 3
    assert len(test) == 0


def test_split_regression() -> None:
    data = make_toy("sine", 100, seed=0)
    train, test = split_toy(data, 0.7, seed=0)
    assert (len(train), len(test)) == (70, 30)
    assert train.is_regression
    assert _rows(np.concatenate([train.points, test.points])) == _rows(data.points)


@pytest.mark.parametrize("ratio", [0.0, -0.5, 1.01, math.nan, "half"])
def test_split_rejects_bad_ratios(ratio: object) -> None:
    with pytest.raises(ToyDataError, match=r"train ratio must be a number in \(0, 1\]"):
        split_toy(make_toy("xor", 10), ratio)  # type: ignore[arg-type]


# ---------------------------------------------------------------------- ToyData validation
@pytest.mark.parametrize(
    ("points", "labels", "message"),
    [
        (np.zeros((3, 2)), np.zeros(3, np.uint8), "points must be float32"),
        (np.zeros((3, 3), np.float32), np.zeros(3, np.uint8), r"shape \(N, 2\)"),
        (np.zeros((3, 2), np.float32), np.zeros(2, np.uint8), r"need labels of shape \(3,\)"),
        (np.zeros((3, 2), np.float32), np.array([0, 1, 2], np.uint8), "must be 0 or 1"),
        (np.zeros((3, 2), np.float32), np.zeros(3, np.int64), "uint8 classes or float32"),
        (np.full((3, 2), np.nan, np.float32), np.zeros(3, np.uint8), "finite"),
        (np.full((3, 2), 7, np.float32), np.zeros(3, np.uint8), "in the plane"),
    ],
)
def test_toy_data_rejects_malformed_arrays(points, labels, message: str) -> None:
    with pytest.raises(ToyDataError, match=message):
        ToyData(points, labels, "mine")


# ---------------------------------------------------------------------- the user's points
def test_user_points_become_class_a_then_class_b() -> None:
    data = from_user_points([[1, 2], [-3, 4.5]], np.array([[6.0, -6.0]]))
    np.testing.assert_array_equal(data.points, [[1, 2], [-3, 4.5], [6, -6]])
    np.testing.assert_array_equal(data.labels, [0, 0, 1])
    assert data.name == "your points"


@pytest.mark.parametrize(
    ("a", "b", "message"),
    [
        ([], [], "no points yet: click to place class A, shift-click for class B"),
        ([[0, 0]], [], "only class A points: shift-click to add at least one class B point"),
        ([], np.zeros((2, 2)), "only class B points: click to add at least one class A point"),
        ([[0, 0]], [[0, math.nan]], r"class B point 1 is not a number: \(0.0, nan\)"),
        ([[0, 0], [1, math.inf]], [[0, 0]], "class A point 2 is not a number"),
        ([[0, 0]], [[0, 0], [6.5, 1]], r"class B point 2 at \(6.5, 1\) is outside the plane"),
        ([[1, 2, 3]], [[0, 0]], r"class A points must be pairs \(x1, x2\), an \(N, 2\) array"),
        ([[1], [2, 3]], [[0, 0]], "class A points must be pairs of numbers"),
        ([["a", "b"]], [[0, 0]], "class A points must be pairs of numbers"),
    ],
)
def test_user_points_errors_say_what_to_do(a, b, message: str) -> None:
    with pytest.raises(ToyDataError, match=message):
        from_user_points(a, b)


_coordinate = st.one_of(
    st.floats(-PLANE, PLANE, width=32),
    st.floats(allow_nan=True, allow_infinity=True, width=32),
)
_points = hnp.arrays(
    np.float64,
    st.tuples(st.integers(0, 5), st.sampled_from([2, 2, 2, 1, 3])),
    elements=_coordinate,
)


@given(_points, _points)
def test_user_points_accepted_exactly_when_valid(a: np.ndarray, b: np.ndarray) -> None:
    def usable(p: np.ndarray) -> bool:
        return p.size == 0 or (
            p.shape[1] == 2 and bool(np.all(np.isfinite(p))) and bool(np.all(np.abs(p) <= PLANE))
        )

    valid = usable(a) and usable(b) and a.size > 0 and b.size > 0
    if not valid:
        with pytest.raises(ToyDataError) as caught:
            from_user_points(a, b)
        message = str(caught.value)
        assert "\n" not in message
        assert message.startswith(("no points", "only class", "class A", "class B"))
        return
    data = from_user_points(a, b)
    np.testing.assert_array_equal(data.points, np.concatenate([a, b]).astype(np.float32))
    assert data.class_counts().tolist() == [len(a), len(b)]
