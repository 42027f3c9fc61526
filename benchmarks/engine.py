"""Training speed of the engine against a lean NumPy loop and PyTorch CPU; cost of diagnostics.

    python benchmarks/engine.py [--quick]

For 784-128-64-10 ReLU (He init, softmax cross-entropy, SGD with momentum) at batch 1, 16, 64 and
256 and a 10-layer 64-unit sigmoid net at batch 64, in one process with BLAS and PyTorch pinned to
one thread each (two BLAS threads on two shared cores are fragile, see DESIGN.md), it measures:

- engine: ``Trainer.step()`` on the bundled digits exactly as the app drives it (batch gathering,
  uint8 -> float per batch, per-step gradient norms, NaN checks, history);
- +diag 24Hz: the same with ``Trainer.diagnostics()`` (the full per-layer set) 24 times a
  second of training, the rate at which the app's snapshots ask for it: the engine with
  "diagnostics on" as the app has them, on which the issue's targets are judged;
- +diag/step: the same with the full set after every step;
- app: the GUI's training process's own loop (gui/training_loop.py: look for commands, step, and
  24 times a second a snapshot, ``Trainer.snapshot(percentiles=False)``: full diagnostics,
  weight and gradient copies, which its sender thread writes to a pipe that another process
  drains; the GUI process selects the percentiles on its own core), shown next to the targets;
- numpy: a lean hand-written NumPy loop (preallocated buffers, no diagnostics), the reference;
- torch: the same network and loop in PyTorch (nn.Sequential, CrossEntropyLoss, SGD momentum, the
  same batches gathered from a uint8 tensor and converted per batch), when torch imports.

All variants start from the engine's initial weights and train on full batches in shuffled order.
Steps that end an epoch are not timed (the trainer evaluates the train and validation sets there;
the cost of that is printed separately). Each variant runs for 0.1 s after a warm-up; the
variants take turns, 15 rounds (one with --quick), and the best round counts: many short rounds
give each variant more chances of a quiet spell on a shared machine than a few long ones. Steps
are timed in the thread's CPU time (time.thread_time, its own cost subtracted): the machine is
shared, and time the process spent preempted must not count; other users can still slow a round
down through shared caches, hence the best round. Absolute samples/s depend on the machine and
its OpenBLAS settings; compare the ratios, which are measured in the same run.
"""

from __future__ import annotations

import argparse
import multiprocessing as mp
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from multiprocessing.connection import Connection
from pathlib import Path
from types import ModuleType

# Run as a script, sys.path[0] is benchmarks/, where this file would shadow the engine package.
ROOT = Path(__file__).resolve().parent.parent
sys.path[:] = [str(ROOT)] + [p for p in sys.path if Path(p or ".").resolve() != ROOT / "benchmarks"]

import numpy as np  # noqa: E402
from threadpoolctl import threadpool_limits  # noqa: E402

from engine import commands  # noqa: E402
from engine.data import load_dataset  # noqa: E402
from engine.diagnostics import with_percentiles  # noqa: E402
from engine.network import Network  # noqa: E402
from engine.spec import Hyperparams, NetworkSpec, OutputSpec, dense  # noqa: E402
from engine.trainer import Trainer  # noqa: E402
from gui.event_pipe import EventSender, recv_event, send_event  # noqa: E402
from gui.training_loop import SNAPSHOT_INTERVAL, TrainingLoop  # noqa: E402

LEARNING_RATE = 0.01
MOMENTUM = 0.9
# Targets of issue 2: engine with diagnostics on vs PyTorch, by case label; diagnostics <= 10%.
TARGETS = {"relu b1": 2.0, "relu b64": 1.5, "relu b256": 1.0}
DIAG_BUDGET = 0.10


@dataclass(frozen=True)
class Case:
    label: str
    hidden: tuple[int, ...]
    activation: str
    init: str
    batch: int

    def spec(self) -> NetworkSpec:
        hp = Hyperparams(
            optimizer="momentum",
            learning_rate=LEARNING_RATE,
            momentum=MOMENTUM,
            batch_size=self.batch,
            epochs=1_000_000,  # never finishes during a benchmark
            augment=False,
        )
        layers = tuple(dense(units, self.activation, self.init) for units in self.hidden)
        return NetworkSpec(layers=layers, output=OutputSpec(), hyperparams=hp, name=self.label)


CASES = (
    Case("relu b1", (128, 64), "relu", "he", 1),
    Case("relu b16", (128, 64), "relu", "he", 16),
    Case("relu b64", (128, 64), "relu", "he", 64),
    Case("relu b256", (128, 64), "relu", "he", 256),
    Case("sigmoid10 b64", (64,) * 10, "sigmoid", "xavier", 64),
)

StepFn = Callable[[], int]  # trains one batch, returns its size, or 0 when it is not to be timed


def _timer_overhead() -> float:
    """Seconds that timing adds to a step: about one thread_time() call falls inside the span."""
    clock = time.thread_time
    calls = 20_000
    start = clock()
    for _ in range(calls):
        clock()
    return (clock() - start) / calls


def measure(step: StepFn, seconds: float) -> float:
    """Samples per second of ``step`` over about ``seconds`` of this thread's CPU time.

    CPU time rather than wall time: the machine is shared, and a step during which the process
    was preempted would otherwise count the other process's time too.
    """
    clock = time.thread_time
    busy = 0.0
    samples = steps = 0
    while busy < seconds:
        start = clock()
        n = step()
        elapsed = clock() - start
        if n:
            busy += elapsed
            samples += n
            steps += 1
    return samples / (busy - steps * TIMER_OVERHEAD)


TIMER_OVERHEAD = _timer_overhead()


# ---------------------------------------------------------------------- the engine
def app_snapshot(trainer: Trainer) -> None:
    """What gui/training_loop.py does for each snapshot: make it, send it to the GUI process."""
    send_event(GUI.conn, ("snapshot", trainer.snapshot(percentiles=False)))


def drain(conn: Connection) -> None:
    """The GUI process's side of the pipe, reduced to receiving (runs in its own process)."""
    while recv_event(conn) is not None:
        pass


class GUI:
    """A process that receives snapshots as the GUI's worker thread does (started by ``run``)."""

    conn: Connection
    commands: Connection  # the training loop's command pipe: nothing is ever sent on it
    _commands_out: Connection

    @classmethod
    def start(cls) -> mp.process.BaseProcess:
        context = mp.get_context("spawn")
        cls.commands, cls._commands_out = context.Pipe(duplex=False)
        receiving, cls.conn = context.Pipe(duplex=False)
        process = context.Process(target=drain, args=(receiving,), daemon=True)
        process.start()
        receiving.close()
        return process

    @classmethod
    def stop(cls, process: mp.process.BaseProcess) -> None:
        send_event(cls.conn, None)
        process.join(5)


def engine_step(trainer: Trainer, diagnostics: str) -> StepFn:
    """``Trainer.step``, then the full diagnostics: never (""), 24 times a second of training
    ("24hz", the rate of the app's snapshots, paced by CPU time), or after every step ("every")."""
    batch = trainer.batch_size
    last = [time.thread_time()]

    def step() -> int:
        result = trainer.step()
        if result.diverged:
            raise RuntimeError(result.diverged)
        if result.epoch_finished:
            return 0  # untimed: it includes the evaluation
        if diagnostics == "every":
            trainer.diagnostics()
        elif diagnostics == "24hz":
            now = time.thread_time()
            if now - last[0] >= SNAPSHOT_INTERVAL:
                trainer.diagnostics()
                last[0] = now
        return batch

    return step


def app_step(trainer: Trainer, sender: EventSender) -> StepFn:
    """The training process's own loop (``TrainingLoop.turn``: look for commands, step, make a
    snapshot at most 24 times a second and hand it to the sender thread, which writes it to the
    pipe), snapshots paced by CPU time (see measure) and acknowledged at once, as if the GUI drew
    each instantly. As in the app, the writing runs on the sender thread, whose CPU time is not
    in this thread's: the "app snapshots" cost includes it."""
    loop = TrainingLoop(trainer, sender, clock=time.thread_time)
    loop.handle(commands.Start())
    batch = trainer.batch_size

    def step() -> int:
        epoch = trainer.epoch
        loop.consumed = True
        loop.turn(GUI.commands)
        if trainer.diverged:
            raise RuntimeError(trainer.diverged)
        return 0 if trainer.epoch != epoch else batch

    return step


def initial_weights(network: Network) -> list[tuple[np.ndarray, np.ndarray]]:
    """(W (in, out), b (out,)) of every Dense layer, input side first."""
    params = [p.value.copy() for p in network.parameters()]  # W, b of each Dense layer in order
    return list(zip(params[::2], params[1::2], strict=True))


class Batches:
    """Full batches of (flat uint8 images, labels) in a fresh shuffled order every epoch."""

    def __init__(self, images: np.ndarray, labels: np.ndarray, batch: int) -> None:
        self.images = np.array(images.reshape(len(images), -1), copy=True)  # writable for torch
        self.labels = labels.astype(np.intp)
        self.batch = batch
        self.rng = np.random.default_rng(0)
        self.order = self.rng.permutation(len(labels))
        self.position = 0

    def next_indices(self) -> np.ndarray | None:
        """Indices of the next batch, or None (after reshuffling) at the end of an epoch."""
        start = self.position
        if start + self.batch > len(self.order):
            self.order = self.rng.permutation(len(self.order))
            self.position = 0
            return None
        self.position = start + self.batch
        return self.order[start : self.position]


# ---------------------------------------------------------------------- lean NumPy reference
class LeanNumpy:
    """The same MLP and momentum SGD written directly in NumPy with preallocated buffers."""

    def __init__(self, weights: list, activation: str, data: Batches) -> None:
        self.data, self.sigmoid, batch = data, activation == "sigmoid", data.batch
        self.params = [a.copy() for pair in weights for a in pair]  # W1, b1, W2, b2, ...
        self.grads = [np.empty_like(p) for p in self.params]
        self.velocity = [np.zeros_like(p) for p in self.params]
        self.tmp = [np.empty_like(p) for p in self.params]
        self.z = [np.empty((batch, w.shape[1]), np.float32) for w, _ in weights]
        self.d = [np.empty((batch, w.shape[0]), np.float32) for w, _ in weights]
        self.scratch = [np.empty((batch, w.shape[0]), np.float32) for w, _ in weights]
        self.mask = [np.empty((batch, w.shape[0]), bool) for w, _ in weights]
        self.u8, self.x = np.empty((batch, 784), np.uint8), np.empty((batch, 784), np.float32)
        self.col, self.rows = np.empty((batch, 1), np.float32), np.arange(batch)

    def step(self) -> int:
        idx = self.data.next_indices()
        if idx is None:
            return 0
        batch = len(idx)
        W, b, gW, gb = self.params[::2], self.params[1::2], self.grads[::2], self.grads[1::2]
        np.take(self.data.images, idx, axis=0, out=self.u8)
        np.divide(self.u8, np.float32(255.0), out=self.x)
        last, h = len(W) - 1, self.x
        for i, z in enumerate(self.z):
            np.matmul(h, W[i], out=z)
            z += b[i]
            if i < last and self.sigmoid:  # as the engine computes it: 0.5 + 0.5 tanh(z / 2)
                z *= 0.5
                np.tanh(z, out=z)
                z *= 0.5
                z += 0.5
            elif i < last:
                np.maximum(z, 0, out=z)
            h = z
        p = self.z[last]  # softmax in place: (p - onehot) / B is the logit gradient
        np.maximum.reduce(p, axis=1, keepdims=True, out=self.col)
        p -= self.col
        np.exp(p, out=p)
        np.add.reduce(p, axis=1, keepdims=True, out=self.col)
        p /= self.col
        p[self.rows, self.data.labels[idx]] -= 1.0
        p *= 1.0 / batch
        g = p
        for i in range(last, -1, -1):
            a = self.z[i - 1] if i else self.x
            # At batch 1, np.dot reaches BLAS for the outer product and matmul does not.
            (np.dot if batch == 1 else np.matmul)(a.T, g, out=gW[i])
            np.add.reduce(g, axis=0, out=gb[i])
            if i:
                np.matmul(g, W[i].T, out=self.d[i])
                if self.sigmoid:  # sigmoid' = a (1 - a)
                    np.subtract(1.0, a, out=self.scratch[i])
                    self.scratch[i] *= a
                    self.d[i] *= self.scratch[i]
                else:
                    self.d[i] *= np.greater(a, 0, out=self.mask[i])
                g = self.d[i]
        for p, grad, v, t in zip(self.params, self.grads, self.velocity, self.tmp, strict=True):
            v *= MOMENTUM
            v -= np.multiply(grad, LEARNING_RATE, out=t)
            p += v
        return batch


# ---------------------------------------------------------------------- PyTorch
def torch_step(torch: ModuleType, weights: list, activation: str, data: Batches) -> StepFn:
    """The same network, batches and update in PyTorch; starts from the same weights."""
    nn = torch.nn
    layers = []
    for i, (w, b) in enumerate(weights):
        linear = nn.Linear(*w.shape)
        with torch.no_grad():
            linear.weight.copy_(torch.from_numpy(w.T))
            linear.bias.copy_(torch.from_numpy(b))
        layers.append(linear)
        if i < len(weights) - 1:
            layers.append(nn.Sigmoid() if activation == "sigmoid" else nn.ReLU())
    model = nn.Sequential(*layers)
    loss_fn = nn.CrossEntropyLoss()
    opt = torch.optim.SGD(model.parameters(), lr=LEARNING_RATE, momentum=MOMENTUM)
    images = torch.from_numpy(data.images)  # uint8, converted per batch like the engine's
    labels = torch.from_numpy(data.labels.astype(np.int64))

    def step() -> int:
        idx = data.next_indices()
        if idx is None:
            return 0
        rows = torch.from_numpy(idx)
        x = images.index_select(0, rows).float().div_(255.0)
        loss = loss_fn(model(x), labels.index_select(0, rows))
        opt.zero_grad()
        loss.backward()
        opt.step()
        return len(idx)

    return step


def import_torch() -> ModuleType | None:
    try:
        import torch
    except ImportError:
        return None
    torch.set_num_threads(1)
    return torch


# ---------------------------------------------------------------------- side costs
def seconds_after_a_step(
    trainer: Trainer,
    fn: Callable[..., object],
    calls: int,
    prepare: Callable[[], object] | None = None,
) -> float:
    """Median CPU seconds of ``fn`` called right after a training step, as the app calls it.

    ``prepare``, when given, runs untimed between the step and ``fn``, which gets its result.

    Calling it back to back instead would flatter it: the branch predictor learns the data of a
    repeated partition, and the step's arrays would never have evicted its own from the caches.
    """
    clock = time.thread_time
    times = []
    for _ in range(calls):
        trainer.step()
        args = () if prepare is None else (prepare(),)
        start = clock()
        fn(*args)
        times.append(clock() - start - TIMER_OVERHEAD)
    return float(np.median(times))


def side_costs(trainer: Trainer, calls: int) -> dict[str, float]:
    """Seconds per call of the per-step norms, the diagnostics and the epoch-end evaluation."""
    from engine.diagnostics import diag_blocks, grad_sumsq

    blocks = diag_blocks(trainer.network)
    out = np.zeros(len(blocks))
    splits = trainer.splits
    return {
        "norms": seconds_after_a_step(trainer, lambda: grad_sumsq(blocks, out), calls),
        "diag": seconds_after_a_step(trainer, trainer.diagnostics, calls),
        "snapshot": seconds_after_a_step(trainer, lambda: app_snapshot(trainer), calls),
        "percentiles": seconds_after_a_step(
            trainer, with_percentiles, calls, lambda: trainer.snapshot(percentiles=False)
        ),
        "evaluate": seconds_after_a_step(
            trainer,
            lambda: (trainer.evaluate(splits.train), trainer.evaluate(splits.val)),
            max(3, calls // 20),
        ),
    }


# ---------------------------------------------------------------------- main
VARIANTS = ("engine", "diag24", "diag", "app", "numpy", "torch")


def run(quick: bool) -> None:
    seconds, rounds, warmup = (0.15, 1, 0.05) if quick else (0.1, 15, 0.03)
    torch = import_torch()
    splits = load_dataset(None)
    print(
        f"numpy {np.__version__}, torch {torch.__version__ if torch else 'not installed'}; "
        f"BLAS and torch pinned to 1 thread; {seconds:g} s per measurement, "
        f"best of {rounds} round{'s' if rounds > 1 else ''}; samples/s of training steps "
        "(epoch-end steps untimed), CPU time\n"
    )
    runners: dict[str, dict[str, StepFn]] = {}
    trainers: dict[str, Trainer] = {}
    sender = EventSender(GUI.conn)
    for case in CASES:
        trainer = Trainer(case.spec(), splits)
        weights = initial_weights(trainer.network)
        train = splits.train
        fns = {
            "engine": engine_step(trainer, ""),
            "diag24": engine_step(trainer, "24hz"),
            "diag": engine_step(trainer, "every"),
            "app": app_step(trainer, sender),
            "numpy": LeanNumpy(
                weights, case.activation, Batches(train.images, train.labels, case.batch)
            ).step,
        }
        if torch is not None:
            data = Batches(train.images, train.labels, case.batch)
            fns["torch"] = torch_step(torch, weights, case.activation, data)
        runners[case.label] = fns
        trainers[case.label] = trainer
    best: dict[str, dict[str, float]] = {c.label: {} for c in CASES}
    for _ in range(rounds):
        for case in CASES:
            for name, fn in runners[case.label].items():
                measure(fn, warmup)
                rate = measure(fn, seconds)
                best[case.label][name] = max(rate, best[case.label].get(name, 0.0))
    sender.close()
    costs = {c.label: side_costs(trainers[c.label], 20 if quick else 100) for c in CASES}
    report(best, costs, trainers)


def report(best: dict, costs: dict, trainers: dict) -> None:
    nan = float("nan")
    print("samples/s        engine  +diag 24Hz  +diag/step         app       numpy       torch")
    for case in CASES:
        r = best[case.label]
        print(f"{case.label:14}" + "".join(f"{r.get(v, nan):12,.0f}" for v in VARIANTS))
    print("\nx torch         engine  +diag 24Hz  +diag/step         app       numpy  engine/numpy")
    for case in CASES:
        r = best[case.label]
        torch_rate = r.get("torch", nan)
        print(
            f"{case.label:14}"
            + "".join(f"{r[v] / torch_rate:12.2f}" for v in VARIANTS[:-1])
            + f"{r['engine'] / r['numpy']:14.2f}"
        )
    print("\ncosts           norms   diag/step  diag 24Hz   app snapshots  eval/epoch  pct(GUI)")
    for case in CASES:
        r, c = best[case.label], costs[case.label]
        step_time = case.batch / r["engine"]
        epoch_time = trainers[case.label].steps_per_epoch * step_time
        print(
            f"{case.label:14}{c['norms'] / step_time:7.1%}{c['diag'] / step_time:12.1%}"
            f"{c['diag'] / SNAPSHOT_INTERVAL:11.1%}{c['snapshot'] / SNAPSHOT_INTERVAL:16.1%}"
            f"{c['evaluate'] / epoch_time:12.1%}{c['percentiles'] * 1e3:7.2f} ms"
        )
    print(LEGEND)
    for case in CASES:
        target, r = TARGETS.get(case.label), best[case.label]
        if target is not None and "torch" in r:
            ratio = {v: r[v] / r["torch"] for v in ("diag24", "app", "diag")}
            ok = ratio["diag24"] >= target
            print(
                f"  {case.label:10} engine with diagnostics {ratio['diag24']:5.2f}x >= "
                f"{target:.1f}x  {_verdict(ok)}   (whole training process: {ratio['app']:.2f}x;"
                f" full diagnostics every step: {ratio['diag']:.2f}x)"
            )
    for case in CASES:
        c, r = costs[case.label], best[case.label]
        share = c["diag"] / SNAPSHOT_INTERVAL
        every = c["diag"] / (case.batch / r["engine"])
        print(
            f"  {case.label:14} diagnostics {share:5.1%} of training time <= {DIAG_BUDGET:.0%}  "
            f"{_verdict(share <= DIAG_BUDGET)}   (with the snapshots' copies and sending: "
            f"{c['snapshot'] / SNAPSHOT_INTERVAL:.1%}; every step: {every:.0%})"
        )


def _verdict(ok: bool) -> str:
    return "PASS" if ok else "FAIL"


LEGEND = """
+diag 24Hz: the full per-layer diagnostics computed 24 times a second, as the app's snapshots
ask for them; +diag/step: after every step. app: the whole training process of the GUI.
Costs: norms, the per-step gradient norms (always on, in every figure), as % of a step;
diag/step, Trainer.diagnostics() as % of a step; diag 24Hz, the same 24 times a second, as %
of training time; app snapshots, the snapshots the training process makes and sends
(diagnostics, weight and gradient copies, pipe) 24 times a second, as % of training time;
eval/epoch, the epoch-end evaluation of the train and validation sets as % of an epoch's
training steps (left out of all samples/s: the torch and numpy loops do not evaluate);
pct(GUI), selecting a snapshot's weight and gradient percentiles in the GUI process.

Targets (issue 2), judged on the engine with diagnostics on as the app has them: norms and NaN
checks every step, the full set 24 times a second:"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="one short round (a smoke run)")
    args = parser.parse_args()
    gui = GUI.start()
    try:
        with threadpool_limits(1), np.errstate(all="ignore"):
            run(args.quick)
    finally:
        GUI.stop(gui)


if __name__ == "__main__":
    main()
