"""``netcore evaluate``: loss and accuracy of a model on a dataset or a table."""

from __future__ import annotations

import json
import math
import sys

import numpy as np

from netcore.cli.common import load_data

EXIT_NOT_FINITE = 1


def add_parser(sub, common) -> None:
    evaluate = sub.add_parser("evaluate", parents=[common], help="accuracy and loss on a dataset")
    evaluate.add_argument("model")
    evaluate.add_argument("--dataset", required=True, help="as for train; csv:FILE is scored row by row")
    evaluate.add_argument("--data-dir")
    evaluate.add_argument(
        "--split",
        choices=["all", "test"],
        help="what to score: all rows, or the test split made in training "
        "(default: all rows of a csv:FILE, the test split of other datasets)",
    )
    evaluate.add_argument("--json", action="store_true")
    evaluate.set_defaults(run=cmd_evaluate)


def cmd_evaluate(args) -> int:
    from netcore.serialization import load_model

    model = load_model(args.model)
    kind, _, path = args.dataset.partition(":")
    with np.errstate(over="ignore", invalid="ignore"):
        if kind.lower() == "csv" and model.preprocessing.get("features"):
            figures = _evaluate_table(model, path, args.split or "all", args.json)
        else:
            figures = _evaluate_dataset(model, args, args.json)
    if args.json:
        print(
            json.dumps(
                {k: v if not isinstance(v, float) or math.isfinite(v) else None for k, v in figures.items()}
            )
        )
    else:
        print("  ".join(f"{k} {v:.4f}" if isinstance(v, float) else f"{k} {v}" for k, v in figures.items()))
    if not math.isfinite(figures["loss"]):
        print(
            f"netcore evaluate: error: the loss is {figures['loss']} on this data: the model's outputs "
            "overflow (its weights are too large, e.g. from a run that diverged)",
            file=sys.stderr,
        )
        return EXIT_NOT_FINITE
    return 0


def _evaluate_table(model, path: str, split: str, with_confusion: bool) -> dict:
    """Score the rows of a CSV file with the model's own feature scaling and class names."""
    from netcore.data.features import read_rows
    from netcore.data.split import train_test_split

    rows = read_rows(model, path)
    x, y = rows.x, rows.y
    if split == "test":
        ratio, seed = model.dataset.get("test_ratio", 0.3), model.dataset.get("seed", 0)
        _, _, x, y = train_test_split(x, y, ratio, np.random.default_rng(seed))
    return _score(model.network, x, y, with_confusion)


def _evaluate_dataset(model, args, with_confusion: bool) -> dict:
    from netcore.experiment import check_fit

    same = args.dataset == model.dataset.get("name")
    options = {k: v for k, v in model.dataset.items() if k in ("noise", "n")} if same else {}
    if args.dataset.startswith("folder:"):  # pictures prepared as the model's were (issue 17)
        from netcore.data.folder import recipe_options

        options = recipe_options(model.preprocessing)
    data = load_data(args.dataset, args.data_dir, options)
    check_fit(model.network, data)
    x, y = data.x_test, data.y_test
    if args.split == "all":
        x, y = np.concatenate([data.x_train, x]), np.concatenate([data.y_train, y])
    return _score(model.network, x, y, with_confusion)


def _score(network, x: np.ndarray, y: np.ndarray, with_confusion: bool = False) -> dict:
    """Loss (and accuracy) on ``x``; with ``with_confusion`` a classifier's matrix, rows = true class."""
    from netcore.evaluation import evaluate

    x = x.reshape((len(x),) + network.input_shape)
    figures = evaluate(network, x, y)
    figures["samples"] = len(x)
    if with_confusion and network.is_classifier:
        from netcore.inspect.confusion import confusion

        figures["confusion"] = confusion(network, x, y).matrix.tolist()
    return figures
