"""``netcore inspect``: what every layer of a model computes for one image, and where it looks."""

from __future__ import annotations

import json
from typing import Any

import numpy as np

from netcore.cli.common import CommandError


def add_parser(sub, common) -> None:
    inspect = sub.add_parser(
        "inspect", parents=[common], help="each layer's output and the saliency for one image"
    )
    inspect.add_argument("model")
    inspect.add_argument("image")
    inspect.add_argument("--json", action="store_true")
    inspect.set_defaults(run=cmd_inspect)


def cmd_inspect(args) -> int:
    from netcore.digits import digit_input_problem
    from netcore.inspect.saliency import peak, saliency
    from netcore.preprocess import load_image, preprocess_digit
    from netcore.serialization import load_model

    network = load_model(args.model).network
    problem = digit_input_problem(network)
    if problem:
        raise CommandError(problem)
    prepared = preprocess_digit(load_image(args.image))
    if prepared.image is None:
        raise CommandError(prepared.reason)
    result = saliency(network, prepared.image)
    probabilities = network.loss.probabilities(result.scores)[0]
    picture = result.map[0]
    report = {
        "layers": [layer_row(o.index, o.kind, o.name, o.output[0]) for o in result.layers],
        "predicted": int(result.target[0]),
        "probability": float(probabilities[result.target[0]]),
        "probabilities": [float(p) for p in probabilities],
        "saliency": {"shape": list(picture.shape), "peak": list(peak(picture)), "max": float(picture.max())},
    }
    if args.json:
        print(json.dumps(report))
        return 0
    for row in report["layers"]:
        s = row["stats"]
        shape = "x".join(map(str, row["output_shape"]))
        print(
            f"{row['index'] + 1:>2}  {row['name'][:48]:<48} {shape:>10}  mean {s['mean']:8.3f}  "
            f"max {s['max']:8.3f}  zero {s['zero_fraction']:6.1%}"
        )
    sal = report["saliency"]
    print(
        f"predicted {report['predicted']} ({report['probability']:.1%}); saliency "
        f"{'x'.join(map(str, sal['shape']))}, peak at row {sal['peak'][0]}, column {sal['peak'][-1]}"
    )
    return 0


def layer_row(index: int, kind: str, name: str, output: np.ndarray) -> dict[str, Any]:
    """One layer's output for one sample: its shape and summary statistics."""
    values = output.astype(np.float64, copy=False)
    return {
        "index": index,
        "kind": kind,
        "name": name,
        "output_shape": list(output.shape),
        "stats": {
            "min": float(values.min()),
            "max": float(values.max()),
            "mean": float(values.mean()),
            "std": float(values.std()),
            "zero_fraction": float(np.count_nonzero(values == 0) / values.size),
        },
    }
