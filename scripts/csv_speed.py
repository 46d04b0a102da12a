"""Time netcore's CSV reader against np.loadtxt on numeric tables of growing size.

Issue 15 asks for loading within 2x of ``np.loadtxt``'s time and memory, with the figures for
10^4, 10^5 and 10^6 rows. This writes such tables (``--features`` normal floats and an integer
label, as ``np.savetxt`` writes them) into a temporary folder, then loads each one in fresh
processes, netcore's ``read_table`` and ``np.loadtxt`` taking turns ``--repeats`` times, and
prints each reader's fastest load: its time and its peak memory growth, e.g.

    python scripts/csv_speed.py --rows 10000,100000,1000000 --repeats 2

Memory is the loading process's peak resident size after the load minus before it (VmHWM), so
it counts every temporary the reader made.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def write_table(path: Path, rows: int, features: int, seed: int = 0) -> None:
    """A header line, then ``rows`` lines of ``features`` floats and an integer label."""
    rng = np.random.default_rng(seed)
    values = np.column_stack([rng.normal(size=(rows, features)), rng.integers(0, 3, rows)])
    header = ",".join([f"f{i}" for i in range(features)] + ["label"])
    np.savetxt(path, values, delimiter=",", fmt=["%.6g"] * features + ["%d"], header=header, comments="")


def peak_mib() -> float:
    """This process's peak resident size in MiB: Linux's VmHWM (its own, where ru_maxrss starts at
    the high-water mark of the process that started it), else the bench's ``peak_rss_mib``."""
    from netcore.bench import peak_rss_mib

    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return peak_rss_mib() or 0.0


def load_once(reader: str, path: str) -> None:
    """In this process: one load; prints seconds and peak memory growth in MiB."""
    from netcore.data.csv import read_table

    before = peak_mib()
    start = time.perf_counter()
    if reader == "netcore":
        read_table(path)
    else:
        np.loadtxt(path, delimiter=",", skiprows=1, dtype=np.float32)
    seconds = time.perf_counter() - start
    print(f"{seconds} {peak_mib() - before}")


def measure(reader: str, path: Path) -> tuple[float, float]:
    """(seconds, MiB) of one load in a fresh process."""
    done = subprocess.run(
        [sys.executable, __file__, "--load", reader, str(path)], capture_output=True, text=True, check=True
    )
    seconds, mib = done.stdout.split()
    return float(seconds), float(mib)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", default="10000,100000,1000000", help="comma-separated row counts")
    parser.add_argument("--features", type=int, default=10)
    parser.add_argument("--repeats", type=int, default=2, help="loads of each reader, taken in turn")
    parser.add_argument("--load", nargs=2, metavar=("READER", "FILE"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.load:
        load_once(*args.load)
        return 0
    print(
        f"{'rows':>9}  {'netcore s':>9}  {'loadtxt s':>9}  {'ratio':>5}  {'netcore MiB':>11}  {'loadtxt MiB':>11}"
    )
    with tempfile.TemporaryDirectory() as folder:
        for rows in (int(r) for r in args.rows.split(",")):
            path = Path(folder) / f"table_{rows}.csv"
            write_table(path, rows, args.features)
            runs = {"netcore": [], "loadtxt": []}
            for _ in range(max(1, args.repeats)):
                for reader, results in runs.items():
                    results.append(measure(reader, path))
            (ours, our_mib), (theirs, their_mib) = (min(runs[r]) for r in ("netcore", "loadtxt"))
            print(
                f"{rows:>9,}  {ours:>9.3f}  {theirs:>9.3f}  {ours / theirs:>5.2f}  {our_mib:>11.1f}  {their_mib:>11.1f}"
            )
            path.unlink()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
