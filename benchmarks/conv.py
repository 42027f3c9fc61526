"""Speed of the engine's conv stack (forward + backward) against PyTorch CPU, and per layer.

    python benchmarks/conv.py [--batch 64] [--rounds 15] [--quick]

The stack is issue 15's feature extractor on 28×28×1 digits: conv 8 3×3 (pad 1) - relu -
maxpool 2 - conv 16 3×3 (pad 1) - relu - maxpool 2 - flatten (to 784 = 7·7·16 features). Both
sides start from the same weights and the same batch of bundled digits, run forward in training
mode, then backward from the same upstream gradient; neither computes the gradient of the input
images (the app's first layer never needs it). PyTorch's parameter gradients are reset to None
before each backward (``zero_grad``'s default), the engine overwrites its own. BLAS and PyTorch are
pinned to one thread each (see DESIGN.md). The two sides take turns, each running for 0.1 s a
round; the best round counts and is timed in the thread's CPU time, so time spent preempted by
other users of the machine does not count. Compare ratios, measured in this one run, not absolute
times (they depend on the machine's OpenBLAS settings).

Per-layer times come from separate runs: the engine's layers timed one call at a time inside the
stack, PyTorch's modules each run alone on the inputs and gradients the stack gave them.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Callable
from pathlib import Path

# Run as a script, sys.path[0] is benchmarks/, which holds conv.py and engine.py: the project root
# goes first so ``engine`` is the package.
ROOT = Path(__file__).resolve().parent.parent
HERE = ROOT / "benchmarks"
sys.path[:] = [str(ROOT)] + [p for p in sys.path if Path(p or ".").resolve() != HERE]

import numpy as np  # noqa: E402
from threadpoolctl import threadpool_limits  # noqa: E402

from engine.data.datasets import load_bundled, to_float  # noqa: E402
from engine.layers.activations import ReLU  # noqa: E402
from engine.layers.base import Layer  # noqa: E402
from engine.layers.conv import Conv2D  # noqa: E402
from engine.layers.pooling import MaxPool2D  # noqa: E402
from engine.layers.spatial import Flatten  # noqa: E402

TARGET = 0.5  # issue 15: engine forward + backward at least half PyTorch's speed at batch 64
ROUND_SECONDS = 0.1


def engine_stack(seed: int = 0) -> list[Layer]:
    rng = np.random.default_rng(seed)
    return [
        Conv2D(8, 3, input_shape=(28, 28, 1), padding=1, rng=rng, name="conv1"),
        ReLU(name="relu1"),
        MaxPool2D(2, input_shape=(28, 28, 8), name="pool1"),
        Conv2D(16, 3, input_shape=(14, 14, 8), padding=1, rng=rng, name="conv2"),
        ReLU(name="relu2"),
        MaxPool2D(2, input_shape=(14, 14, 16), name="pool2"),
        Flatten(input_shape=(7, 7, 16), name="flatten"),
    ]


def engine_step(layers: list[Layer], x: np.ndarray, g: np.ndarray) -> None:
    for layer in layers:
        x = layer.forward(x, training=True)
    for layer in layers[:0:-1]:
        g = layer.backward(g)
    layers[0].backward(g, input_grad=False)


def torch_stack(torch, layers: list[Layer]):
    nn = torch.nn
    model = nn.Sequential(
        nn.Conv2d(1, 8, 3, padding=1),
        nn.ReLU(),
        nn.MaxPool2d(2),
        nn.Conv2d(8, 16, 3, padding=1),
        nn.ReLU(),
        nn.MaxPool2d(2),
        nn.Flatten(),
    )
    with torch.no_grad():
        for module, layer in ((model[0], layers[0]), (model[3], layers[3])):
            module.weight.copy_(torch.from_numpy(layer.weight_oihw()))
            module.bias.copy_(torch.from_numpy(layer.b.value))
    return model


def best_time(step: Callable[[], None], rounds: list[float]) -> None:
    """Run ``step`` for one round of ROUND_SECONDS; append its CPU seconds per step to rounds."""
    step()  # warm: buffers, caches
    count, start = 0, time.thread_time()
    while True:
        step()
        count += 1
        spent = time.thread_time() - start
        if spent >= ROUND_SECONDS:
            rounds.append(spent / count)
            return


def engine_layer_times(layers: list[Layer], x: np.ndarray, g: np.ndarray, steps: int) -> dict:
    """Best CPU seconds of each layer's forward and backward over ``steps`` stack steps."""
    clock = time.thread_time_ns
    fwd = {layer.name: [] for layer in layers}
    bwd = {layer.name: [] for layer in layers}
    for _ in range(steps):
        h = x
        for layer in layers:
            t = clock()
            h = layer.forward(h, training=True)
            fwd[layer.name].append(clock() - t)
        grad = g
        for i in range(len(layers) - 1, -1, -1):
            t = clock()
            grad = layers[i].backward(grad, input_grad=i > 0)
            bwd[layers[i].name].append(clock() - t)
    return {name: (min(fwd[name]) * 1e-9, min(bwd[name]) * 1e-9) for name in fwd}


def torch_layer_times(torch, model, x, g, steps: int) -> list[tuple[float, float]]:
    """Best CPU seconds of each module's forward and backward, each run alone on the input and
    upstream gradient it had in the stack."""
    inputs, outputs = [], []
    h = x
    for module in model:
        inputs.append(h.detach().requires_grad_(bool(inputs)))  # none for the images themselves
        h = module(h)
        h.retain_grad()
        outputs.append(h)
    h.backward(g)
    grads = [out.grad.detach() for out in outputs]
    clock = time.thread_time_ns
    times = []
    for module, inp, grad in zip(model, inputs, grads, strict=True):
        fwd, total = [], []
        for _ in range(steps):
            for p in module.parameters():
                p.grad = None
            if inp.grad is not None:
                inp.grad = None
            t = clock()
            with torch.no_grad():
                module(inp)
            fwd.append(clock() - t)
            t = clock()
            module(inp).backward(grad)
            total.append(clock() - t)
        f, t = min(fwd) * 1e-9, min(total) * 1e-9
        times.append((f, max(t - f, 0.0)))
    return times


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--batch", type=int, default=64)
    parser.add_argument("--rounds", type=int, default=15)
    parser.add_argument("--quick", action="store_true", help="3 rounds")
    args = parser.parse_args()
    rounds = 3 if args.quick else args.rounds
    try:
        import torch
    except ImportError:
        sys.exit("PyTorch is not installed: pip install torch==2.13.0 (CPU build)")
    torch.set_num_threads(1)

    images = load_bundled().images[: args.batch]
    x = to_float(images)
    layers = engine_stack()
    g = np.random.default_rng(1).standard_normal((args.batch, 784)).astype(np.float32)
    model = torch_stack(torch, layers)
    tx = torch.from_numpy(x.reshape(-1, 1, 28, 28).copy())
    tg = torch.from_numpy(g)
    params = list(model.parameters())

    def torch_step() -> None:
        for p in params:
            p.grad = None
        model(tx).backward(tg)

    with threadpool_limits(1):
        # Same numbers on both sides before timing anything.
        engine_step(layers, x, g)
        torch_step()
        out_diff = float(np.abs(layers[-1].output - model(tx).detach().numpy()).max())
        grad_diff = max(
            float(np.abs(ours - theirs.grad.numpy()).max() / np.abs(ours).max())
            for ours, theirs in (
                (layers[0].weight_oihw(layers[0].W.grad), params[0]),
                (layers[3].weight_oihw(layers[3].W.grad), params[2]),
            )
        )
        times: dict[str, list[float]] = {"engine": [], "torch": []}
        for _ in range(rounds):
            best_time(lambda: engine_step(layers, x, g), times["engine"])
            best_time(torch_step, times["torch"])
        steps = 20 if args.quick else 100
        ours = engine_layer_times(layers, x, g, steps)
        theirs = torch_layer_times(torch, model, tx, tg, steps)

    engine_s, torch_s = min(times["engine"]), min(times["torch"])
    print(f"conv stack forward+backward, batch {args.batch}, one thread, best of {rounds} rounds")
    print(f"  outputs agree to {out_diff:.1e}, conv weight gradients to {grad_diff:.1e} (relative)")
    print(f"  engine {engine_s * 1e3:7.3f} ms/step   torch {torch_s * 1e3:7.3f} ms/step")
    ratio = torch_s / engine_s
    verdict = "meets" if ratio >= TARGET else "BELOW"
    print(f"  engine speed / torch speed = {ratio:.2f}x ({verdict} the {TARGET}x target)")
    print("\nper layer (ms, best call)     engine fwd  bwd     torch fwd  bwd")
    for (name, (f, b)), (tf, tb) in zip(ours.items(), theirs, strict=True):
        print(f"  {name:<26}{f * 1e3:9.3f}{b * 1e3:7.3f}   {tf * 1e3:9.3f}{tb * 1e3:7.3f}")
    total_ours = sum(f + b for f, b in ours.values())
    total_theirs = sum(f + b for f, b in theirs)
    print(f"  {'sum':<26}{total_ours * 1e3:16.3f}   {total_theirs * 1e3:16.3f}")


if __name__ == "__main__":
    main()
