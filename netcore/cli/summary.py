"""``netcore summary``: layers, shapes and parameter counts of a model or a spec."""

from __future__ import annotations

from pathlib import Path


def add_parser(sub, common) -> None:
    summary = sub.add_parser("summary", parents=[common], help="layers, shapes and parameter counts")
    summary.add_argument("path", help="a model (.npz) or a spec (.json)")
    summary.set_defaults(run=cmd_summary)


def cmd_summary(args) -> int:
    from netcore.network import format_summary
    from netcore.serialization import load_model
    from netcore.spec import load_spec

    path = Path(args.path)
    if path.suffix.lower() == ".json":
        print(format_summary(load_spec(path)))
        return 0
    model = load_model(path)
    print(format_summary(model.network.spec))
    if model.history:
        last = model.history[-1]
        print(
            f"trained {len(model.history)} epochs on {model.dataset.get('name', '?')}; last loss "
            f"{last.get('loss', float('nan')):.4f}"
        )
    return 0
