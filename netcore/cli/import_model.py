"""``netcore import``: an ONNX graph or safetensors weights as a netcore model file."""

from __future__ import annotations

from pathlib import Path

from netcore.cli.common import CommandError


def add_parser(sub, common) -> None:
    imp = sub.add_parser(
        "import",
        parents=[common],
        help="turn an .onnx or .safetensors file into a netcore model file",
        description="Read an ONNX graph of supported operators, or safetensors weights (with the design "
        "embedded by netcore, or given with --arch), and write a netcore model file. Nothing is "
        "written if the file cannot be read or does not fit.",
    )
    imp.add_argument("file", help="an .onnx or .safetensors file")
    imp.add_argument("--out", required=True, help="the netcore model file to write (.npz)")
    imp.add_argument("--arch", help="the network spec (JSON) the weights belong to")
    imp.set_defaults(run=cmd_import)


def cmd_import(args) -> int:
    from netcore.interop import import_model
    from netcore.serialization import save_model

    out = Path(args.out)
    if not out.parent.is_dir():
        raise CommandError(f"cannot write {out}: folder {out.parent} does not exist")
    model = import_model(args.file, arch=args.arch)
    save_model(model, out)
    net = model.network
    print(
        f"{net.spec.get('name', 'model')}: {len(net.layers)} layers, {net.num_params:,} parameters; saved {out}"
    )
    return 0
