"""``netcore gradcheck``: every parameter tensor's backward against float64 central differences."""

from __future__ import annotations

import json
import sys

from netcore.cli.common import CommandError


def add_parser(sub, common) -> None:
    check = sub.add_parser(
        "gradcheck", parents=[common], help="check a design's gradients against finite differences"
    )
    check.add_argument("spec", help="a spec (.json) or a model (.npz)")
    check.add_argument("--batch", type=int, default=4, help="random samples to check on (default 4)")
    check.add_argument(
        "--coords", type=int, default=24, help="coordinates checked per tensor, at most (default 24)"
    )
    check.add_argument("--seed", type=int, default=0)
    check.add_argument("--json", action="store_true")
    check.set_defaults(run=cmd_gradcheck)


def cmd_gradcheck(args) -> int:
    """Exit 0 when every tensor's relative error is at most 1e-6, 1 otherwise."""
    from netcore.inspect.gradcheck import gradient_check
    from netcore.serialization import load_model
    from netcore.spec import load_spec

    if args.batch < 1 or args.batch > 256:
        raise CommandError(f"--batch must be 1..256, got {args.batch}")
    if args.coords < 1:
        raise CommandError(f"--coords must be at least 1, got {args.coords}")
    model = load_model(args.spec).network if args.spec.lower().endswith(".npz") else load_spec(args.spec)
    report = gradient_check(
        model, batch=args.batch, max_coords=args.coords, seed=args.seed, progress=_progress
    )
    if sys.stderr.isatty():
        sys.stderr.write("\r\033[K")  # the progress line goes
    if args.json:
        print(json.dumps(report.to_dict()))
    else:
        print(f"{'tensor':<8} {'layer':<44} {'shape':<14} {'checked':>7} {'rel. error':>10}")
        for t in report.tensors:
            shape = "x".join(map(str, t.shape))
            verdict = "ok" if t.passed else "FAIL"
            print(
                f"{t.name:<8} {t.layer[:44]:<44} {shape:<14} {t.checked:>7} {t.relative_error:>10.1e}  {verdict}"
            )
        skipped = sum(t.at_kinks for t in report.tensors)
        note = f"; {skipped} coordinates at ReLU/max-pool kinks skipped" if skipped else ""
        print(
            f"{'all' if report.passed else 'NOT all'} tensors within {report.tolerance:g} "
            f"(float64, batch {args.batch}, loss {report.loss:.4f}){note}"
        )
    return 0 if report.passed else 1


def _progress(done: int, total: int, name: str) -> None:
    """One line on a terminal's stderr, rewritten before each tensor."""
    if sys.stderr.isatty():
        sys.stderr.write(f"\r\033[Kchecking {name} ({done + 1}/{total})")
        sys.stderr.flush()
