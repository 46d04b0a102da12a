"""``netcore predict``: read the digit in an image, or label the rows of a CSV table."""

from __future__ import annotations

import json
import sys

import numpy as np

from netcore.cli.common import CommandError

EXIT_NOT_FINITE = 1


def add_parser(sub, common) -> None:
    predict = sub.add_parser("predict", parents=[common], help="read the digit in an image, label CSV rows")
    predict.add_argument("model")
    predict.add_argument("image", metavar="INPUT", help="an image, or a CSV file of rows (a table model)")
    predict.add_argument("--json", action="store_true")
    predict.set_defaults(run=cmd_predict)


def cmd_predict(args) -> int:
    from netcore.serialization import load_model

    model = load_model(args.model)
    if model.preprocessing.get("features"):
        return _predict_rows(model, args.image, args.json)
    if takes_pictures(model):
        return predict_picture(model, args)
    from netcore.digits import classify_image
    from netcore.preprocess import load_image

    with np.errstate(over="ignore", invalid="ignore"):
        reading = classify_image(model.network, load_image(args.image))
    if reading.reason is not None:
        raise CommandError(reading.reason)
    if not np.isfinite(reading.probabilities).all():
        print("netcore predict: error: the model's outputs are not finite numbers", file=sys.stderr)
        return EXIT_NOT_FINITE
    if args.json:
        print(
            json.dumps({"label": reading.label, "probabilities": [float(p) for p in reading.probabilities]})
        )
    else:
        names = model.class_names or [str(i) for i in range(len(reading.probabilities))]
        print(f"{names[reading.label]}  ({reading.probabilities[reading.label]:.1%})")
    return 0


def _predict_rows(model, path: str, as_json: bool) -> int:
    """One line (or JSON object) per row: the class name and its probability, or the value."""
    from netcore.data.features import read_rows

    rows = read_rows(model, path, labels=False)
    net = model.network
    with np.errstate(over="ignore", invalid="ignore"):
        out = net.predict(rows.x.reshape((len(rows.x),) + net.input_shape))
        probs = net.loss.probabilities(out) if net.is_classifier else None
    if not np.isfinite(out).all():
        print(
            "netcore predict: error: the model's outputs are not finite numbers on these rows",
            file=sys.stderr,
        )
        return EXIT_NOT_FINITE
    if probs is None:
        results = [{"value": v.tolist() if v.size > 1 else float(v[0])} for v in out.reshape(len(out), -1)]
        lines = [" ".join(f"{x:g}" for x in np.atleast_1d(r["value"])) for r in results]
    else:
        names = model.class_names or [str(k) for k in range(probs.shape[1])]
        labels = net.loss.predicted_labels(out)
        results = [
            {"label": names[k], "probabilities": {n: float(p) for n, p in zip(names, row, strict=False)}}
            for k, row in zip(labels.tolist(), probs, strict=True)
        ]
        lines = [f"{names[k]}  ({row[k]:.1%})" for k, row in zip(labels.tolist(), probs, strict=True)]
    print(json.dumps(results) if as_json else "\n".join(lines))
    return 0


# -- pictures: models trained on an image folder, or any C x H x W input but MNIST's -------------


def takes_pictures(model) -> bool:
    from netcore.image_model import is_picture_model

    return is_picture_model(model.network, model.preprocessing)


def predict_picture(model, args) -> int:
    from netcore.image_model import classify

    try:
        reading = classify(model.network, args.image, model.preprocessing, model.class_names)
    except ValueError as e:
        raise CommandError(str(e)) from None
    if args.json:
        probabilities = [float(p) for p in reading.probabilities]
        name = reading.top[0][0]
        print(json.dumps({"label": reading.label, "class": name, "probabilities": probabilities}))
    else:
        print("\n".join(f"{name}  ({p:.1%})" for name, p in reading.top[:3]))
    return 0
