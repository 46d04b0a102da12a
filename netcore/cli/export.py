"""``netcore export``: a model (or a design) for ONNX Runtime, PyTorch or plain NumPy."""

from __future__ import annotations

from pathlib import Path


def add_parser(sub, common) -> None:
    export = sub.add_parser(
        "export",
        parents=[common],
        help="write a model as ONNX, PyTorch (model.py, safetensors, train.py) or NumPy",
        description="Write a model file (.npz) or a design (.json, with fresh weights) for use elsewhere. "
        "onnx: one .onnx file; torch: a folder with model.py, model.safetensors and train.py "
        "(runs with python or torchrun); numpy: a standalone .py with its weights beside it.",
    )
    export.add_argument("model", help="a netcore model file (.npz) or a network spec (.json)")
    export.add_argument("--format", required=True, choices=["onnx", "torch", "numpy"])
    export.add_argument(
        "--out", required=True, help="the .onnx file, the torch folder or the .py file to write"
    )
    export.add_argument(
        "--data",
        help="torch: where train.py finds the data (csv:FILE, idx:FOLDER) if the model names it only",
    )
    export.add_argument(
        "--seed", type=int, default=0, help="weight initialisation of a design given as .json"
    )
    export.set_defaults(run=cmd_export)


def cmd_export(args) -> int:
    from netcore.interop import export_model

    model = read_model_or_spec(args.model, args.seed)
    written = export_model(model, args.format, args.out, data=args.data)
    for path in written:
        print(f"wrote {path}")
    if args.format == "onnx":
        print(
            "open it in Netron (https://netron.app, or `pip install netron && netron FILE`) to see the graph"
        )
    elif args.format == "torch":
        folder = Path(args.out)
        print(f"train it: cd {folder} && python train.py   (or: torchrun --nproc_per_node=2 train.py)")
    return 0


def read_model_or_spec(path: str, seed: int = 0):
    """A SavedModel from a model file, or an untrained one from a spec JSON."""
    from netcore.network import Network
    from netcore.serialization import SavedModel, load_model
    from netcore.spec import load_spec

    if Path(path).suffix.lower() == ".json":
        return SavedModel(network=Network(load_spec(path), seed=seed))
    return load_model(path)
