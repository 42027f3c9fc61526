"""Network descriptions: plain validation messages, JSON round trips, fuzzed input."""

import contextlib
import json
from dataclasses import replace

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from engine.files.presets import load_preset, load_presets
from engine.files.spec import (
    MAX_DEPTH,
    Hyperparams,
    LayerSpec,
    NetworkSpec,
    OutputSpec,
    SpecError,
    dense,
    layer_errors,
    validate,
)
from engine.layers.cost import network_cost
from engine.layers.network import build_network


def test_presets_load_with_descriptions():
    presets = load_presets()
    assert list(presets)[:5] == ["healthy", "vanishing", "exploding", "overfitting", "mse-sigmoid"]
    for name, spec in presets.items():
        assert len(spec.description) > 150, name
        assert spec.name == name
    assert len(presets["vanishing"].layers) >= 8
    assert presets["overfitting"].hyperparams.train_size == 300
    assert presets["mse-sigmoid"].loss == "mse"


def test_unknown_preset_lists_the_valid_ones():
    with pytest.raises(SpecError, match="available: healthy, vanishing"):
        load_preset("nope")


@pytest.mark.parametrize("name", list(load_presets()))
def test_json_round_trip(name):
    spec = load_preset(name)
    assert NetworkSpec.from_json(spec.to_json()) == spec


def test_residual_round_trip_and_width_check():
    block = LayerSpec("residual", layers=(dense(64, "relu"), dense(64, "linear")))
    spec = NetworkSpec(
        layers=(dense(64), block, LayerSpec("batchnorm"), LayerSpec("dropout", rate=0.3))
    )
    assert NetworkSpec.from_json(spec.to_json()) == spec
    bad = NetworkSpec(layers=(dense(32), block))
    with pytest.raises(SpecError, match=r"layer 2 \(residual\).*width 64.*width 32"):
        validate(bad)


@pytest.mark.parametrize(
    ("layers", "message"),
    [
        ((dense(0),), r"layer 1 \(dense\): units must be 1..4096, got 0"),
        ((dense(5000),), "units must be 1..4096"),
        ((dense(10, "swish"),), "unknown 'swish'; valid: relu, leaky_relu, elu, sigmoid, tanh"),
        ((dense(10, init="magic"),), "valid: zeros, normal, uniform, xavier, he, lecun"),
        ((LayerSpec("dropout", rate=1.0),), r"rate must be in \[0, 1\)"),
        ((LayerSpec("conv"),), "unknown 'conv'; valid: dense, activation, dropout"),
        (tuple(dense(8) for _ in range(MAX_DEPTH + 1)), "too deep: 65 layers, at most 64"),
    ],
)
def test_validation_messages(layers, message):
    with pytest.raises(SpecError, match=message):
        validate(NetworkSpec(layers=layers))


def test_layer_errors_reports_every_bad_block():
    errors = layer_errors((dense(0), dense(10), dense(10, "nope")))
    assert len(errors) == 2
    assert errors[0].startswith("layer 1")
    assert errors[1].startswith("layer 3")


def test_hyperparameter_validation():
    spec = NetworkSpec(layers=(dense(16),))
    with pytest.raises(SpecError, match="optimizer: unknown 'adamw'"):
        validate(spec.with_hyperparams(optimizer="adamw"))
    with pytest.raises(SpecError, match="learning_rate must be a number"):
        validate(spec.with_hyperparams(learning_rate=-1.0))
    with pytest.raises(SpecError, match="clip_norm must be off"):
        validate(spec.with_hyperparams(clip_norm=0.0))
    with pytest.raises(SpecError, match="cross-entropy loss needs the softmax output"):
        validate(NetworkSpec(layers=(dense(16),), output=OutputSpec("sigmoid")))
    validate(spec.with_hyperparams(batch_size=0, clip_norm=1.0))


def test_unknown_keys_are_named():
    data = load_preset("healthy").to_dict()
    data["hyperparams"]["learnign_rate"] = 0.1
    with pytest.raises(SpecError, match=r"unknown setting.*learnign_rate"):
        NetworkSpec.from_dict(data)
    data = load_preset("healthy").to_dict()
    data["layers"][0]["unit"] = 3
    with pytest.raises(SpecError, match=r"layer 1 \(dense\): unknown setting.*unit"):
        NetworkSpec.from_dict(data)


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=8),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4)
    ),
    max_leaves=20,
)


@settings(max_examples=200, deadline=None)
@given(json_values)
def test_arbitrary_json_gives_spec_error_only(value):
    with contextlib.suppress(SpecError):
        NetworkSpec.from_json(json.dumps(value))


@settings(max_examples=200, deadline=None)
@given(
    st.dictionaries(
        st.sampled_from(list(Hyperparams.__dataclass_fields__)), json_values, max_size=5
    )
)
def test_mutated_hyperparams_give_spec_error_only(changes):
    data = load_preset("healthy").to_dict()
    data["hyperparams"].update(changes)
    with contextlib.suppress(SpecError):
        NetworkSpec.from_dict(data)


@settings(max_examples=100, deadline=None)
@given(st.binary(max_size=200))
def test_arbitrary_bytes_give_spec_error_only(raw):
    with contextlib.suppress(SpecError):
        NetworkSpec.from_json(raw.decode("utf-8", errors="replace"))


def test_input_shape_and_output_units_round_trip_and_build():
    spec = NetworkSpec(
        layers=(dense(3, "tanh"),),
        output=OutputSpec(activation="sigmoid", units=1),
        loss="binary_cross_entropy",
        input_shape=(2,),
    )
    again = NetworkSpec.from_json(spec.to_json())
    assert again == spec
    network = build_network(again, np.random.default_rng(0))
    logits = network.forward(np.zeros((5, 2), np.float32), training=False)
    assert logits.shape == (5, 1)
    assert network_cost(again)[0] == 2 * 3 + 3 + 3 * 1 + 1


def test_files_without_input_are_digits():
    data = json.loads(NetworkSpec(layers=(dense(8),)).to_json())
    del data["input"]
    del data["output"]["units"]
    spec = NetworkSpec.from_dict(data)
    assert spec.input_shape == (28, 28, 1)
    assert spec.input_features == 784
    assert spec.output.units == 10


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"input_shape": (0,)}, "input shape must be 1 to 3 positive"),
        ({"input_shape": (2, 2, 2, 2)}, "input shape must be 1 to 3 positive"),
        ({"input_shape": (1000, 1000)}, "too large; at most 65,536"),
        ({"output": OutputSpec(units=1)}, "at least 2 outputs"),
        ({"loss": "binary_cross_entropy"}, "exactly 1 output with the sigmoid"),
        ({"output": OutputSpec(units=0)}, "output units must be a whole number"),
    ],
)
def test_impossible_inputs_and_outputs_are_refused(changes, message):
    spec = replace(NetworkSpec(layers=(dense(8),)), **changes)
    with pytest.raises(SpecError, match=message):
        validate(spec)


@pytest.mark.parametrize("bad", [[], {"shape": "28"}, {"shape": [28, 28], "x": 1}, {"shape": [-1]}])
def test_malformed_input_objects_are_refused(bad):
    data = json.loads(NetworkSpec(layers=(dense(8),)).to_json())
    data["input"] = bad
    with pytest.raises(SpecError, match="input"):
        NetworkSpec.from_dict(data)
