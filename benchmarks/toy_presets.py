"""Which settings teach: how many seeds solve each toy preset, and the tuning behind the choice.

    PYTHONPATH=. python benchmarks/toy_presets.py [--quick]

Every row trains a small network with the engine's own layers, losses and optimisers
(benchmarks/toy_loop.py) on a generated data set split 50/50 into train and test (data seed 0, so
the data is the same for every row of a preset), once per network seed. "solved" counts the seeds
whose *train* accuracy reached the row's target within its step budget (checked every 50 steps);
steps are the median and worst over the solved seeds; accuracies are means over all seeds after
training stopped (at the target, or at the budget). Rows marked "paired" use the seed for the data
too (a new data set per seed), a harder test of the same settings. Inputs are the scaled features
of engine.data.toy_features (x1/6 ...) unless a row says "raw" (plane coordinates, up to ±6).

The first row of each group is the setting proposed for the preset; the others show what it was
chosen against. Deterministic: the numbers do not depend on the machine.
"""

from __future__ import annotations

import argparse
import sys
import time
from dataclasses import dataclass, replace
from pathlib import Path

# Run as a script, sys.path[0] is benchmarks/, where engine.py would shadow the engine package.
ROOT = Path(__file__).resolve().parent.parent
HERE = ROOT / "benchmarks"
sys.path[:] = [str(ROOT)] + [p for p in sys.path if Path(p or ".").resolve() != HERE] + [str(HERE)]

import numpy as np  # noqa: E402
from threadpoolctl import threadpool_limits  # noqa: E402
from toy_loop import ToyNet, train  # noqa: E402

from engine.data.toy_data import PLANE, make_toy, split_toy  # noqa: E402
from engine.data.toy_features import compute_features  # noqa: E402
from engine.files.spec import Hyperparams  # noqa: E402


@dataclass(frozen=True)
class Row:
    label: str
    dataset: str
    sizes: tuple[int, ...]
    activation: str = "tanh"
    features: tuple[str, ...] = ("x1", "x2")
    init: str = "xavier"
    init_scale: float = 1.0
    output_init: str = "xavier"
    output_scale: float = 1.0
    optimizer: str = "sgd"
    learning_rate: float = 0.1
    batch_size: int = 0  # 0 = full batch
    steps: int = 2000
    target: float = 1.0
    seeds: int = 20
    n: int = 400  # points before the 50/50 split
    noise: float = 0.0
    paired: bool = False  # data seed = network seed
    raw: bool = False  # plane coordinates instead of scaled features


XOR = Row(
    "xor-2-2-1",
    "xor",
    (2, 2, 1),
    init="normal",
    init_scale=0.1,
    output_init="normal",
    output_scale=0.1,
    learning_rate=1.0,
)
SPIRAL = Row(
    "spiral needs depth",
    "spirals",
    (2, 8, 8, 1),
    optimizer="adam",
    learning_rate=0.01,
    steps=10_000,
    seeds=10,
)
CIRCLE_SQUARES = Row(
    "circle with x1²+x2²",
    "circles",
    (2, 1),
    features=("x1_squared", "x2_squared"),
    learning_rate=1.0,
    steps=2000,
)
SINGLE_NEURON = Row("a single neuron is a line", "circles", (2, 1), learning_rate=1.0)
ZERO_INIT = Row(
    "zero init: every unit the same",
    "moons",
    (2, 4, 1),
    activation="sigmoid",
    init="zeros",
    output_init="zeros",
    optimizer="adam",
    learning_rate=0.03,
    target=0.99,
)

GROUPS: list[tuple[str, list[Row]]] = [
    (
        "(a) XOR by 2-2-1 tanh within 2,000 steps, train accuracy 100%",
        [
            XOR,
            replace(XOR, label="  paired", paired=True),
            replace(XOR, label="  lr 3", learning_rate=3.0),
            replace(XOR, label="  init N(0, 0.01²)", init_scale=0.01, output_scale=0.01),
            replace(XOR, label="  noise 0.3, target 97%", noise=0.3, target=0.97),
            replace(XOR, label="  batch 10", batch_size=10),
            replace(XOR, label="  momentum 0.9, lr 0.1", optimizer="momentum", learning_rate=0.1),
            replace(XOR, label="  adam lr 0.03", optimizer="adam", learning_rate=0.03),
            replace(
                XOR,
                label="  xavier init",
                init="xavier",
                init_scale=1.0,
                output_init="xavier",
                output_scale=1.0,
            ),
            replace(XOR, label="  raw inputs", raw=True),
            replace(
                XOR,
                label="  raw, xavier",
                raw=True,
                init="xavier",
                init_scale=1.0,
                output_init="xavier",
                output_scale=1.0,
            ),
        ],
    ),
    (
        "(b) two spirals by 2-8-8-1 within 10,000 steps, train accuracy 100%",
        [
            SPIRAL,
            replace(SPIRAL, label="  paired", paired=True),
            replace(SPIRAL, label="  target 97%", target=0.97),
            replace(SPIRAL, label="  adam lr 0.03", learning_rate=0.03),
            replace(SPIRAL, label="  relu, he, 97%", activation="relu", init="he", target=0.97),
            replace(SPIRAL, label="  batch 10, 97%", batch_size=10, target=0.97),
            replace(
                SPIRAL,
                label="  momentum lr 0.1, 97%",
                optimizer="momentum",
                learning_rate=0.1,
                target=0.97,
            ),
            replace(SPIRAL, label="  2-8-1 (no depth), 97%", sizes=(2, 8, 1), target=0.97),
        ],
    ),
    ("(c) circles with x1², x2² and no hidden layer", [CIRCLE_SQUARES]),
    ("(d) a single neuron on x1, x2 fails on circles (majority rate 50%)", [SINGLE_NEURON]),
    (
        "(e) zero init everywhere, 2-4-1 on moons, target 99%: the hidden units stay identical "
        "(sigmoid)\n    or never move (tanh(0) = 0 passes no gradient); random init for contrast",
        [
            ZERO_INIT,
            replace(ZERO_INIT, label="  tanh", activation="tanh"),
            replace(
                ZERO_INIT,
                label="  init N(0, 0.1²)",
                init="normal",
                init_scale=0.1,
                output_init="normal",
                output_scale=0.1,
            ),
        ],
    ),
]


@dataclass(frozen=True)
class Result:
    solved_steps: list[int]
    train_acc: float
    test_acc: float
    hidden_spread: float  # largest difference between two hidden units' incoming weights
    hidden_size: float  # largest incoming weight of a hidden unit, in absolute value


def features_for(row: Row, points: np.ndarray) -> np.ndarray:
    x = compute_features(points, row.features)
    return x * np.float32(PLANE) if row.raw else x


def run(row: Row, seeds: int) -> Result:
    solved, train_acc, test_acc, spread, size = [], [], [], 0.0, 0.0
    for seed in range(seeds):
        data_seed = seed if row.paired else 0
        train_set, test_set = split_toy(
            make_toy(row.dataset, row.n, noise=row.noise, seed=data_seed), 0.5, seed=data_seed
        )
        x, y = features_for(row, train_set.points), train_set.labels
        hp = Hyperparams(optimizer=row.optimizer, learning_rate=row.learning_rate, momentum=0.9)
        net = ToyNet(
            row.sizes,
            row.activation,
            seed=seed,
            hp=hp,
            init=row.init,
            init_scale=row.init_scale,
            output_init=row.output_init,
            output_scale=row.output_scale,
        )
        step = train(
            net, x, y, steps=row.steps, batch_size=row.batch_size, seed=seed, target=row.target
        )
        if step is not None:
            solved.append(step)
        train_acc.append(net.accuracy(x, y))
        test_acc.append(net.accuracy(features_for(row, test_set.points), test_set.labels))
        if len(row.sizes) > 2:
            w = net.dense[0].W.value
            spread = max(spread, float(np.max(w.max(axis=1) - w.min(axis=1))))
            size = max(size, float(np.max(np.abs(w))))
    return Result(solved, float(np.mean(train_acc)), float(np.mean(test_acc)), spread, size)


def settings(row: Row) -> str:
    batch = "full" if row.batch_size == 0 else str(row.batch_size)
    init = f"{row.init}" + (f"×{row.init_scale:g}" if row.init_scale != 1 else "")
    activation = row.activation if len(row.sizes) > 2 else "(no hidden layer)"
    return (
        f"{'-'.join(map(str, row.sizes))} {activation} {','.join(row.features)} "
        f"{row.optimizer} lr {row.learning_rate:g} batch {batch} init {init}"
        + (" raw" if row.raw else "")
        + (" paired" if row.paired else "")
        + (f" noise {row.noise:g}" if row.noise else "")
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="5 seeds per row instead of 20/10")
    args = parser.parse_args()
    threadpool_limits(1)
    header = f"{'row':32s} {'solved':>7s} {'median':>7s} {'worst':>6s} {'train':>6s} {'test':>6s}"
    for title, rows in GROUPS:
        print(f"\n{title}\n{header}")
        for row in rows:
            seeds = 5 if args.quick else row.seeds
            start = time.perf_counter()
            result = run(row, seeds)
            steps = result.solved_steps
            median = f"{np.median(steps):.0f}" if steps else "-"
            worst = f"{max(steps)}" if steps else "-"
            print(
                f"{row.label:32s} {len(steps):>3d}/{seeds:<3d} {median:>7s} {worst:>6s} "
                f"{result.train_acc:6.1%} {result.test_acc:6.1%}   {settings(row)}"
                + (
                    f"  hidden weights: max |w| {result.hidden_size:.3g}, "
                    f"max difference between units {result.hidden_spread:.3g}"
                    if row.dataset == ZERO_INIT.dataset
                    else ""
                )
                + f"  ({time.perf_counter() - start:.1f} s)",
                flush=True,
            )


if __name__ == "__main__":
    main()
