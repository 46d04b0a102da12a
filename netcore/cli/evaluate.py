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
    from netcore.experiment import check_fit, evaluate_on_test
    from netcore.serialization import load_model

    model = load_model(args.model)
    data = load_data(
        args.dataset,
        args.data_dir,
        {k: v for k, v in model.dataset.items() if k in ("noise", "n")}
        if args.dataset == model.dataset.get("name")
        else {},
    )
    check_fit(model.network, data)
    figures = evaluate_on_test(model.network, data)
    figures["samples"] = len(data.x_test)
    if args.json:
        if model.network.is_classifier:  # rows = true class, columns = predicted
            from netcore.inspect.confusion import confusion

            figures["confusion"] = confusion(model.network, data.x_test, data.y_test).matrix.tolist()
        print(json.dumps(figures))
    else:
        print("  ".join(f"{k} {v:.4f}" if isinstance(v, float) else f"{k} {v}" for k, v in figures.items()))
    return 0
