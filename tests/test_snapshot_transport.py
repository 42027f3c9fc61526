"""Snapshots on their way from the training process to the GUI: percentiles selected on the GUI
side, arrays sent out of band through a real pipe."""

import multiprocessing as mp
import threading

import numpy as np
import pytest

from engine.diagnostics.layer_health import with_percentiles
from engine.files.spec import LayerSpec, NetworkSpec, dense
from engine.training.trainer import Trainer
from gui.training.event_pipe import EventSender, recv_event, send_event


def mixed_spec():
    residual = LayerSpec("residual", layers=(dense(24), dense(24, "tanh")))
    layers = (dense(24), LayerSpec("batchnorm"), residual, LayerSpec("dropout", rate=0.1))
    return NetworkSpec(layers=layers).with_hyperparams(batch_size=32, learning_rate=0.05)


@pytest.fixture
def trained(splits):
    trainer = Trainer(mixed_spec(), splits)
    for _ in range(5):
        trainer.step()
    return trainer


def test_percentiles_left_to_the_receiver_equal_the_trainers_own(trained):
    own = trained.snapshot(percentiles=True).diagnostics
    deferred = trained.snapshot(percentiles=False)
    assert deferred.diagnostics.weight_percentiles is None
    assert set(deferred.gradients) == {p.name for p in trained.network.parameters()}
    assert "batchnorm2.running_mean" in deferred.weights  # a buffer: no gradient, no percentile
    completed = with_percentiles(deferred)
    diag = completed.diagnostics
    assert diag.layer_names == ("dense1", "batchnorm2", "residual3", "output")
    np.testing.assert_array_equal(diag.weight_percentiles, own.weight_percentiles)
    np.testing.assert_array_equal(diag.grad_percentiles, own.grad_percentiles)
    assert completed.gradients == {}
    assert not diag.weight_percentiles.flags.writeable
    # The residual row covers both of its inner layers, weights and biases.
    inner = [a for name, a in deferred.weights.items() if name.startswith("residual3.")]
    assert len(inner) == 4
    assert diag.weight_percentiles[2, 0] == min(a.min() for a in inner)
    assert diag.weight_percentiles[2, -1] == max(a.max() for a in inner)


def test_a_complete_snapshot_passes_unchanged(trained):
    snapshot = trained.snapshot()
    assert snapshot.gradients == {}
    assert with_percentiles(snapshot) is snapshot


def received_through_a_pipe(events):
    receiving, sending = mp.Pipe(duplex=False)
    got = []
    reader = threading.Thread(target=lambda: got.extend(recv_event(receiving) for _ in events))
    reader.start()
    for event in events:
        send_event(sending, event)
    reader.join(10)
    sending.close()
    with pytest.raises(EOFError):
        recv_event(receiving)
    return got


def test_events_cross_a_pipe_intact_and_read_only(trained):
    snapshot = trained.snapshot(percentiles=False)
    strided = np.arange(20.0).reshape(4, 5)[:, ::2]  # not contiguous: pickled in band
    events = [("snapshot", snapshot), ("failed", "no"), ("array", strided), ("stopped", None)]
    got = received_through_a_pipe(events)
    assert [kind for kind, _ in got] == ["snapshot", "failed", "array", "stopped"]
    received = got[0][1]
    for name, array in snapshot.weights.items():
        np.testing.assert_array_equal(received.weights[name], array)
        assert not received.weights[name].flags.writeable
    for name, array in snapshot.gradients.items():
        np.testing.assert_array_equal(received.gradients[name], array)
    assert received.spec == snapshot.spec
    np.testing.assert_array_equal(got[2][1], strided)
    expected = with_percentiles(snapshot).diagnostics.grad_percentiles
    np.testing.assert_array_equal(with_percentiles(received).diagnostics.grad_percentiles, expected)


def test_the_sender_thread_keeps_order_and_reports_a_closed_gui(trained):
    receiving, sending = mp.Pipe(duplex=False)
    sender = EventSender(sending)
    snapshot = trained.snapshot(percentiles=False)
    events = [("snapshot", snapshot), ("saved", "a.npz"), ("stopped", None)]
    for event in events:
        sender(event)  # returns at once; the thread writes
    got = [recv_event(receiving) for _ in events]
    sender.close()
    assert [kind for kind, _ in got] == ["snapshot", "saved", "stopped"]
    np.testing.assert_array_equal(got[0][1].weights["dense1.W"], snapshot.weights["dense1.W"])

    receiving, sending = mp.Pipe(duplex=False)
    sender = EventSender(sending)
    receiving.close()  # the GUI went away
    sender(("saved", "b.npz"))
    sender._thread.join(5)  # the thread stops at its first failed write
    with pytest.raises(BrokenPipeError):
        sender(("saved", "c.npz"))
    sender.close()
