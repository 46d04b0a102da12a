"""The netcore command line (also `python -m netcore`): one module per command in this package.

Bad input of any kind exits with status 2 and one line on stderr; ``--debug``
shows the traceback instead.
"""

from __future__ import annotations

import argparse
import sys

import netcore
from netcore.cli import bench, evaluate, export, gradcheck, import_model, inspect, predict, summary, train
from netcore.cli.common import EXIT_BAD_INPUT, CommandError

__all__ = ["main", "build_parser", "CommandError", "EXIT_BAD_INPUT", "one_line"]

# One module per command, each with ``add_parser(sub, common)``; the order is --help's.
COMMANDS = [train, evaluate, summary, predict, inspect, gradcheck, export, import_model, bench]


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "command", None):
        parser.print_help(sys.stderr)
        return EXIT_BAD_INPUT
    try:
        return args.run(args) or 0
    except KeyboardInterrupt:
        print("netcore: interrupted", file=sys.stderr)
        return 130
    except Exception as exc:  # every failure becomes one line unless --debug
        if args.debug:
            raise
        print(f"netcore {args.command}: error: {one_line(exc)}", file=sys.stderr)
        return EXIT_BAD_INPUT


def one_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    message = text[0] if text else type(exc).__name__
    if isinstance(exc, (MemoryError, RecursionError)) or not message:
        message = f"{type(exc).__name__}: {message}"
    return message


def build_parser() -> argparse.ArgumentParser:
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--debug", action="store_true", help="show tracebacks")
    parser = argparse.ArgumentParser(prog="netcore", description=__doc__.splitlines()[0], parents=[common])
    parser.add_argument("--version", action="version", version=f"netcore {netcore.__version__}")
    sub = parser.add_subparsers(dest="command")
    for command in COMMANDS:
        command.add_parser(sub, common)
    return parser
