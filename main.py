"""Backprop Playground: the entry point. No arguments opens the window; subcommands work headless.

    python main.py                      open the app
    python main.py train [options]      train from a preset or spec file, print accuracy
    python main.py predict --model M.npz IMAGE...
    python main.py presets              list the presets and what each one shows

Bad input (missing file, malformed spec or model, unknown preset, empty image) exits with status 2
and one line on stderr.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path
from typing import NoReturn

import engine  # noqa: F401  first: it sets one BLAS thread before anything loads NumPy

EXIT_BAD_INPUT = 2


class CliError(Exception):
    """A problem with what the user asked for: printed as one line, exit status 2."""


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        self.exit(EXIT_BAD_INPUT, f"{self.prog}: error: {message} (see --help)\n")


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="main.py",
        description="Backprop Playground: learn backpropagation by training networks on MNIST. "
        "Run without a command to open the app.",
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    train = sub.add_parser("train", help="train a network and report its accuracy")
    source = train.add_mutually_exclusive_group()
    source.add_argument("--preset", metavar="NAME", help="a bundled preset (default: healthy)")
    source.add_argument("--spec", metavar="FILE", type=Path, help="a network spec (.json)")
    train.add_argument("--epochs", type=int, metavar="N", help="passes over the training set")
    train.add_argument("--batch-size", type=int, metavar="B", help="1 = stochastic, 0 = full batch")
    train.add_argument("--lr", type=float, metavar="X", help="learning rate")
    train.add_argument("--optimizer", metavar="NAME", help="sgd, momentum, nesterov, rmsprop, adam")
    train.add_argument("--seed", type=int, metavar="S", help="random seed (same seed, same result)")
    train.add_argument(
        "--data", metavar="DIR", type=Path, help="IDX folder or .npz (default: the bundled digits)"
    )
    train.add_argument("--out", metavar="MODEL.npz", type=Path, help="save the trained model")
    train.add_argument("--json", action="store_true", help="print one JSON object with the results")
    predict = sub.add_parser("predict", help="classify PNG/JPEG images with a saved model")
    predict.add_argument("--model", required=True, type=Path, metavar="MODEL.npz")
    predict.add_argument("images", nargs="+", type=Path, metavar="IMAGE")
    predict.add_argument("--json", action="store_true", help="print a JSON list of results")
    sub.add_parser("presets", help="list the presets and what each one shows")
    return parser


def _spec_from_args(args: argparse.Namespace):
    from engine.files.presets import load_preset
    from engine.files.spec import NetworkSpec, SpecError, validate

    if args.spec is not None:
        try:
            text = args.spec.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            raise CliError(f"cannot read spec {args.spec}: {exc}") from None
        spec = NetworkSpec.from_json(text)
    else:
        spec = load_preset(args.preset or "healthy")
    changes = {
        "epochs": args.epochs,
        "batch_size": args.batch_size,
        "learning_rate": args.lr,
        "optimizer": args.optimizer,
        "seed": args.seed,
    }
    changes = {key: value for key, value in changes.items() if value is not None}
    spec = spec.with_hyperparams(**changes)
    try:
        validate(spec)
    except SpecError as exc:
        raise CliError(str(exc)) from None
    return spec


def _progress(done: int, total: int, text: str) -> None:
    width = 30
    filled = int(width * done / max(total, 1))
    bar = "#" * filled + "-" * (width - filled)
    sys.stderr.write(f"\r[{bar}] {100 * done / max(total, 1):5.1f}% {text}   ")
    sys.stderr.flush()


def cmd_train(args: argparse.Namespace) -> int:
    from engine.data.sources import load_dataset
    from engine.files.checkpoint import save_model
    from engine.training.trainer import Trainer

    spec = _spec_from_args(args)
    splits = load_dataset(args.data)
    trainer = Trainer(spec, splits)
    epochs = spec.hyperparams.epochs
    total = epochs * trainer.steps_per_epoch
    started = time.perf_counter()
    while trainer.epoch < epochs:
        result = trainer.step()
        if result.diverged:
            if not args.json:
                sys.stderr.write("\n")
            raise CliError(result.diverged)
        if not args.json and (result.step % 20 == 0 or result.epoch_finished):
            text = f"epoch {trainer.epoch + 1}/{epochs} loss {result.loss:.4f}"
            _progress(result.step, total, text)
    seconds = time.perf_counter() - started
    if not args.json:
        sys.stderr.write("\n")
    last = trainer.history.epochs[-1]
    test_loss, test_acc = trainer.evaluate(splits.test)
    if args.out is not None:
        save_model(args.out, trainer.model_file())
    if args.json:
        result_json = {
            "preset": spec.name,
            "epochs": trainer.epoch,
            "steps": trainer.step_count,
            "seconds": round(seconds, 3),
            "train_accuracy": last.train_accuracy,
            "validation_accuracy": last.val_accuracy,
            "test_accuracy": test_acc,
            "test_loss": test_loss,
            "model": str(args.out) if args.out else None,
        }
        print(json.dumps(result_json))
    else:
        saved = f", saved to {args.out}" if args.out else ""
        print(
            f"train accuracy {100 * last.train_accuracy:.2f}%, test accuracy {100 * test_acc:.2f}% "
            f"({trainer.epoch} epochs, {seconds:.1f} s{saved})"
        )
    return 0


def cmd_predict(args: argparse.Namespace) -> int:
    from engine.data.preprocess import to_mnist
    from engine.files.checkpoint import load_model
    from engine.inference import Predictor
    from gui.drawing.image_io import load_gray

    model = load_model(args.model)
    try:
        predictor = Predictor(model.spec, model.weights)
    except ValueError as exc:
        raise CliError(f"{args.model.name}: weights do not match the network: {exc}") from None
    results = []
    for path in args.images:
        probs = predictor.predict_proba(to_mnist(load_gray(path))[None])[0]
        results.append(
            {"file": str(path), "digit": int(probs.argmax()), "probabilities": probs.tolist()}
        )
    if args.json:
        print(json.dumps(results))
    else:
        for item in results:
            probs = " ".join(f"{d}:{p:.3f}" for d, p in enumerate(item["probabilities"]))
            print(f"{item['file']}: {item['digit']}  ({probs})")
    return 0


def cmd_presets(_args: argparse.Namespace) -> int:
    import textwrap

    from engine.files.presets import load_presets

    for name, spec in load_presets().items():
        print(name)
        print(textwrap.fill(spec.description, 96, initial_indent="  ", subsequent_indent="  "))
    return 0


def launch_app() -> int:
    from gui.app import run_app

    return run_app(sys.argv[:1])


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command is None:
        return launch_app()
    handlers = {"train": cmd_train, "predict": cmd_predict, "presets": cmd_presets}
    from engine.data.datasets import DataError
    from engine.data.idx import IdxError
    from engine.data.preprocess import EmptyDrawingError
    from engine.files.checkpoint import ModelFileError
    from engine.files.spec import SpecError
    from gui.drawing.image_io import ImageLoadError

    bad_input = (
        CliError,
        SpecError,
        ModelFileError,
        DataError,
        IdxError,
        EmptyDrawingError,
        ImageLoadError,
    )

    try:
        return handlers[args.command](args)
    except bad_input as exc:
        sys.stderr.write(f"main.py {args.command}: error: {exc}\n")
        return EXIT_BAD_INPUT
    except KeyboardInterrupt:
        sys.stderr.write("\ninterrupted\n")
        return 130
    except BrokenPipeError:
        # The reader went away (`main.py presets | head`): not an error worth a traceback.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0


if __name__ == "__main__":
    sys.exit(main())
