"""Input features of toy points and the plane grid the decision boundary is drawn on."""

from __future__ import annotations

import numpy as np
import pytest

from engine.data.toy_data import PLANE, make_toy
from engine.data.toy_features import (
    FEATURES,
    compute_features,
    feature_names,
    grid_features,
    plane_grid,
    validate_features,
)

ALL = tuple(FEATURES)


def expected(points: np.ndarray, name: str) -> np.ndarray:
    x1 = points[:, 0].astype(np.float64)
    x2 = points[:, 1].astype(np.float64) if points.shape[1] > 1 else None
    return {
        "x1": lambda: x1 / PLANE,
        "x2": lambda: x2 / PLANE,
        "x1_squared": lambda: (x1 / PLANE) ** 2,
        "x2_squared": lambda: (x2 / PLANE) ** 2,
        "x1_times_x2": lambda: x1 * x2 / PLANE**2,
        "sin_x1": lambda: np.sin(x1),
        "sin_x2": lambda: np.sin(x2),
    }[name]()


def test_every_feature_in_the_order_asked() -> None:
    points = make_toy("spirals", 50, noise=0.2, seed=0).points
    names = ("sin_x2", "x1", "x1_times_x2", "x2_squared", "x2", "sin_x1", "x1_squared")
    out = compute_features(points, names)
    assert out.shape == (50, 7)
    assert out.dtype == np.float32
    for j, name in enumerate(names):
        np.testing.assert_allclose(out[:, j], expected(points, name), rtol=1e-6, atol=1e-6)


def test_out_buffer_is_filled_and_returned() -> None:
    points = make_toy("xor", 20, seed=0).points
    out = np.full((20, 3), np.nan, dtype=np.float32)
    result = compute_features(points, ("x1", "x1_squared", "sin_x2"), out=out)
    assert result is out
    np.testing.assert_array_equal(out, compute_features(points, ("x1", "x1_squared", "sin_x2")))


@pytest.mark.parametrize(
    "out", [np.empty((20, 2), np.float32), np.empty((20, 3), np.float64), np.empty((19, 3))]
)
def test_out_buffer_of_the_wrong_shape_or_dtype_is_refused(out: np.ndarray) -> None:
    points = make_toy("xor", 20, seed=0).points
    with pytest.raises(ValueError, match=r"out must be float32 of shape \(20, 3\)"):
        compute_features(points, ("x1", "x2", "x1_squared"), out=out)


@pytest.mark.parametrize(
    ("names", "dims", "message"),
    [
        ((), 2, "choose at least one input feature; valid: x1, x2, x1_squared"),
        (("x3",), 2, "unknown input feature 'x3'; valid: x1, x2"),
        (("x1", "x1"), 2, r"input feature\(s\) chosen twice: x1"),
        (("x1", "x2"), 1, r"input feature 'x2' needs 2-D points; this data is 1-D \(valid: x1, "),
        (("x1_times_x2",), 1, "needs 2-D points"),
    ],
)
def test_bad_feature_choices_name_the_valid_ones(names, dims: int, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        validate_features(names, dims=dims)


def test_one_dimensional_points_get_x1_features() -> None:
    assert feature_names(1) == ("x1", "x1_squared", "sin_x1")
    assert feature_names(2) == ALL
    points = make_toy("sine", 30, seed=0).points
    out = compute_features(points, feature_names(1))
    for j, name in enumerate(feature_names(1)):
        np.testing.assert_allclose(out[:, j], expected(points, name), rtol=1e-6, atol=1e-6)
    with pytest.raises(ValueError, match="points must have shape"):
        compute_features(np.zeros((4, 3), np.float32), ("x1",))


def test_plane_grid_is_cell_centres_row_by_row_from_the_bottom() -> None:
    grid = plane_grid(4)
    assert grid.shape == (16, 2)
    assert grid.dtype == np.float32
    assert not grid.flags.writeable
    ticks = [-4.5, -1.5, 1.5, 4.5]  # centres of 4 cells of width 3 across [-6, 6]
    image = grid.reshape(4, 4, 2)
    np.testing.assert_allclose(image[0, :, 0], ticks)  # x1 left to right along a row
    np.testing.assert_allclose(image[:, 0, 1], ticks)  # x2 upwards from row 0
    assert np.all(image[0, :, 1] == -4.5)
    assert plane_grid(4) is grid  # cached: drawn every frame
    with pytest.raises(ValueError, match="grid resolution"):
        plane_grid(1)


def test_features_of_the_grid_stay_in_minus_one_to_one() -> None:
    values = grid_features(ALL, 100)
    assert values.shape == (10_000, len(ALL))
    assert np.max(np.abs(values)) <= 1.0
    # The grid's corner cell centre, 6 - 0.06 away from the centre on both axes:
    corner = PLANE - PLANE / 100
    np.testing.assert_allclose(values[-1, :5], [corner / PLANE] * 2 + [(corner / PLANE) ** 2] * 3)
