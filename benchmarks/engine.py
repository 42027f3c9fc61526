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
- app: the GUI's training process's own loop (gui/training/loop.py: look for commands, step, and
  24 times a second a snapshot, ``Trainer.snapshot(percentiles=False)``: full diagnostics,
  weight and gradient copies, which its sender thread writes to a pipe that another process
  drains; the GUI process selects the percentiles on its own core), shown next to the targets;
- numpy: a lean hand-written NumPy loop (preallocated buffers, no diagnostics), the reference;
- torch: the same network and loop in PyTorch (nn.Sequential, CrossEntropyLoss, SGD momentum, the
  same batches gathered from a uint8 tensor and converted per batch), when torch imports.

All variants start from the engine's initial weights and train on full batches in shuffled order.
Steps that end an epoch are not timed (the trainer evaluates the train and validation sets there;
the cost of that is printed separately). Each variant runs for 0.1 s after a warm-up; the
variants take turns, 25 rounds (one with --quick), and the best round counts: many short rounds
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

# Run as a script, sys.path[0] is benchmarks/, where this file would shadow the engine package:
# benchmarks/ goes last, after the project root.
ROOT = Path(__file__).resolve().parent.parent
HERE = ROOT / "benchmarks"
sys.path[:] = [str(ROOT)] + [p for p in sys.path if Path(p or ".").resolve() != HERE] + [str(HERE)]

import numpy as np  # noqa: E402
from engine_references import (  # noqa: E402
    LEARNING_RATE,
    MOMENTUM,
    Batches,
    LeanNumpy,
    StepFn,
    import_torch,
    initial_weights,
    torch_step,
)
from threadpoolctl import threadpool_limits  # noqa: E402

from engine.data.sources import load_dataset  # noqa: E402
from engine.diagnostics.layer_health import with_percentiles  # noqa: E402
from engine.files.spec import Hyperparams, NetworkSpec, OutputSpec, dense  # noqa: E402
from engine.training import commands  # noqa: E402
from engine.training.trainer import Trainer  # noqa: E402
from gui.training.event_pipe import EventSender, recv_event, send_event  # noqa: E402
from gui.training.loop import SNAPSHOT_INTERVAL, TrainingLoop  # noqa: E402

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
    """What gui/training/loop.py does for each snapshot: make it, send it to the GUI process."""
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
    from engine.diagnostics.layer_health import diag_blocks, grad_sumsq

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
    seconds, rounds, warmup = (0.15, 1, 0.05) if quick else (0.1, 25, 0.03)
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
