"""Measure how responsive the window stays while MNIST trains on the worker.

A 10 ms QTimer ticks on the UI thread; the gaps between ticks, minus 10 ms, are the
event loop's stalls. Prints max and p99, with training samples per second, e.g.

    NETCORE_DATA_DIR=../shared/datasets QT_QPA_PLATFORM=offscreen python scripts/ui_latency.py --seconds 20
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument("--spec", default="mnist_mlp", help="a template name in netcore/resources/networks")
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--switch-interval", type=float, help="sys.setswitchinterval (s); default: Python's 5 ms")
    args = parser.parse_args()

    from PySide6.QtCore import QElapsedTimer, QSettings, QTimer
    from PySide6.QtWidgets import QApplication

    from desktop.main_window import MainWindow

    if args.switch_interval:
        sys.setswitchinterval(args.switch_interval)
    app = QApplication.instance() or QApplication(sys.argv[:1])
    settings = QSettings(str(Path("/tmp/netcore-ui-latency.ini")), QSettings.Format.IniFormat)
    settings.clear()
    window = MainWindow(settings=settings, load_default_model=False)
    window.show()
    window._load_template(args.spec)
    window.training.set_data_choice("mnist")
    window.training.batch_size.setValue(args.batch_size)
    window.training.epochs.setValue(100)

    gaps: list[float] = []
    clock = QElapsedTimer()
    samples: list[tuple[float, int]] = []
    window.controller.batch_finished.connect(lambda s: samples.append((time.perf_counter(), s.samples)))

    def tick() -> None:
        if clock.isValid() and window.controller.state == "training":
            gaps.append(clock.nsecsElapsed() / 1e6)
        clock.restart()

    timer = QTimer()
    timer.setInterval(10)
    timer.timeout.connect(tick)
    timer.start()
    window.train()

    def finish() -> None:
        window.controller.stop()
        app.quit()

    QTimer.singleShot(int(args.seconds * 1000), finish)
    app.exec()
    window.close()
    if not gaps or len(samples) < 2:
        print("no training happened (is MNIST in NETCORE_DATA_DIR?)", file=sys.stderr)
        return 1
    stall = np.maximum(np.array(gaps) - 10.0, 0)
    (t0, s0), (t1, s1) = samples[0], samples[-1]
    report = {
        "ticks": len(gaps),
        "max_gap_ms": float(np.max(gaps)),
        "p99_gap_ms": float(np.percentile(gaps, 99)),
        "median_gap_ms": float(np.median(gaps)),
        "p99_stall_ms": float(np.percentile(stall, 99)),
        "samples_per_second": (s1 - s0) / (t1 - t0) if t1 > t0 else 0.0,
    }
    print(json.dumps(report, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
