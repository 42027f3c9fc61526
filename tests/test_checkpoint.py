"""Model files: round trips, atomic writes, and clear errors for anything broken or foreign."""

import io
import zipfile

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from engine.files.checkpoint import ModelFileError, load_model, save_model
from engine.files.spec import LayerSpec, NetworkSpec, dense
from engine.inference import Predictor
from engine.training.trainer import Trainer

SPEC = NetworkSpec(layers=(dense(24), LayerSpec("batchnorm"), dense(12, "tanh"))).with_hyperparams(
    optimizer="adam", learning_rate=0.01
)


@pytest.fixture
def trained(splits):
    trainer = Trainer(SPEC, splits)
    for _ in range(30):
        trainer.step()
    return trainer


def test_model_round_trip_predicts_identically(tmp_path, trained, splits):
    path = tmp_path / "model.npz"
    save_model(path, trained.model_file())
    model = load_model(path)
    assert model.spec == trained.spec
    x = splits.test.images[:50]
    expected = Predictor(trained.spec, trained.network.named_arrays()).predict_proba(x)
    np.testing.assert_array_equal(Predictor(model.spec, model.weights).predict_proba(x), expected)
    assert "dense1.W.m" in model.optimizer or any(k.startswith("dense1.W") for k in model.optimizer)


def test_session_round_trip_continues_identically(tmp_path, trained, splits):
    path = tmp_path / "session.npz"
    save_model(path, trained.model_file(session=True))
    resumed = Trainer(SPEC, splits)
    resumed.load_model_file(load_model(path))
    assert resumed.step_count == 30
    assert resumed.history.size == 30
    np.testing.assert_array_equal(resumed.history.losses[:30], trained.history.losses[:30])


def test_no_temp_files_left_behind(tmp_path, trained):
    save_model(tmp_path / "m.npz", trained.model_file())
    assert [p.name for p in tmp_path.iterdir()] == ["m.npz"]


def test_truncated_file_is_reported(tmp_path, trained):
    path = tmp_path / "m.npz"
    save_model(path, trained.model_file())
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    with pytest.raises(ModelFileError, match="not a model file or truncated"):
        load_model(path)


def test_foreign_npz_is_reported(tmp_path):
    path = tmp_path / "other.npz"
    np.savez(path, x=np.zeros(3))
    with pytest.raises(ModelFileError, match="not a Backprop Playground model"):
        load_model(path)


def test_pickled_object_arrays_are_refused(tmp_path, trained):
    path = tmp_path / "evil.npz"
    arrays = {"format": np.array("backprop-playground/model"), "version": np.array(1)}
    arrays["spec"] = np.array([{"a": 1}], dtype=object)
    np.savez(path, **arrays)
    with pytest.raises(ModelFileError, match="will not load"):
        load_model(path)


def test_mismatched_weights_are_reported(tmp_path, trained, splits):
    model = trained.model_file()
    model.weights["dense1.W"] = np.zeros((784, 5), dtype=np.float32)
    path = tmp_path / "m.npz"
    save_model(path, model)
    fresh = Trainer(SPEC, splits)
    with pytest.raises(ModelFileError, match=r"dense1.W.*shape \(784, 5\).*needs \(784, 24\)"):
        fresh.load_model_file(load_model(path))
    assert fresh.network.named_arrays()["dense1.W"].shape == (784, 24)


def test_missing_file(tmp_path):
    with pytest.raises(ModelFileError, match="no such file"):
        load_model(tmp_path / "nope.npz")


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(st.binary(max_size=400))
def test_random_bytes_raise_model_file_error_only(tmp_path, raw):
    path = tmp_path / "random.npz"
    path.write_bytes(raw)
    with pytest.raises(ModelFileError):
        load_model(path)


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    st.dictionaries(
        st.sampled_from(["format", "version", "spec", "weights/dense1.W", "junk"]),
        st.one_of(
            st.text(max_size=20).map(np.array),
            st.integers(-5, 5).map(np.array),
            st.lists(st.floats(allow_nan=False), max_size=5).map(np.array),
        ),
        max_size=5,
    )
)
def test_mangled_model_contents_raise_model_file_error_only(tmp_path, arrays):
    buffer = io.BytesIO()
    np.savez(buffer, **arrays)
    path = tmp_path / "mangled.npz"
    path.write_bytes(buffer.getvalue())
    with pytest.raises(ModelFileError):
        load_model(path)
    assert zipfile.is_zipfile(path)
