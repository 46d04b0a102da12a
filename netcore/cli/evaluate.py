"""``netcore evaluate``: loss and accuracy of a model on a test split."""

from __future__ import annotations

import json

from netcore.cli.common import load_data


def add_parser(sub, common) -> None:
    evaluate = sub.add_parser("evaluate", parents=[common], help="accuracy and loss on a test split")
    evaluate.add_argument("model")
    evaluate.add_argument("--dataset", required=True)
    evaluate.add_argument("--data-dir")
    evaluate.add_argument("--json", action="store_true")
    evaluate.set_defaults(run=cmd_evaluate)


def cmd_evaluate(args) -> int:
    from netcore.data.folder import recipe_options
    from netcore.experiment import check_fit, evaluate_on_test
    from netcore.serialization import load_model

    model = load_model(args.model)
    options = (
        {k: v for k, v in model.dataset.items() if k in ("noise", "n")}
        if args.dataset == model.dataset.get("name")
        else {}
    )
    if args.dataset.startswith("folder:"):  # pictures prepared as the model's were (issue 17)
        options = recipe_options(model.preprocessing)
    data = load_data(args.dataset, args.data_dir, options)
    check_fit(model.network, data)
    figures = evaluate_on_test(model.network, data)
    figures["samples"] = len(data.x_test)
    if args.json:
        print(json.dumps(figures))
    else:
        print("  ".join(f"{k} {v:.4f}" if isinstance(v, float) else f"{k} {v}" for k, v in figures.items()))
    return 0
