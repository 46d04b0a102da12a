"""``netcore predict``: read the digit in an image with a model."""

from __future__ import annotations

import json

from netcore.cli.common import CommandError


def add_parser(sub, common) -> None:
    predict = sub.add_parser("predict", parents=[common], help="read the digit in an image")
    predict.add_argument("model")
    predict.add_argument("image")
    predict.add_argument("--json", action="store_true")
    predict.set_defaults(run=cmd_predict)


def cmd_predict(args) -> int:
    from netcore.digits import classify_image
    from netcore.preprocess import load_image
    from netcore.serialization import load_model

    model = load_model(args.model)
    if takes_pictures(model):
        return predict_picture(model, args)
    reading = classify_image(model.network, load_image(args.image))
    if reading.reason is not None:
        raise CommandError(reading.reason)
    if args.json:
        print(
            json.dumps({"label": reading.label, "probabilities": [float(p) for p in reading.probabilities]})
        )
    else:
        names = model.class_names or [str(i) for i in range(len(reading.probabilities))]
        print(f"{names[reading.label]}  ({reading.probabilities[reading.label]:.1%})")
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
