"""Measure how responsive the window stays while MNIST trains on the worker.

A 10 ms QTimer ticks on the UI thread; the gaps between ticks, minus 10 ms, are the
event loop's stalls. Prints max and p99, with training samples per second, e.g.

    NETCORE_DATA_DIR=../shared/datasets QT_QPA_PLATFORM=offscreen python scripts/ui_latency.py --seconds 20

``--views all`` opens every Inside view at once (each dock floating, so none hides behind a
tab) and reports how long each inspection computation took; compare with ``--views none``
(the default) on the same spec, both with ``--draw`` (a digit drawn on the pad every second):

    ... python scripts/ui_latency.py --spec mnist_cnn --batch-size 64 --seconds 120 --draw --views all
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
    parser.add_argument(
        "--spec", default="mnist_mlp", help="a template name in netcore/resources/networks, or a design .json"
    )
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--dataset", default="mnist", help="e.g. spirals, for the decision boundary view")
    parser.add_argument("--views", choices=("none", "all"), default="none", help="open every Inside view")
    parser.add_argument("--draw", action="store_true", help="draw a digit on the pad every second")
    parser.add_argument("--samples", type=int, help="points of a synthetic dataset (spirals...)")
    parser.add_argument(
        "--switch-interval", type=float, help="sys.setswitchinterval (s); default: Python's 5 ms"
    )
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
    if args.spec.endswith(".json"):
        window.designer.set_spec(json.loads(Path(args.spec).read_text()))
    else:
        window._load_template(args.spec)
    window.training.set_data_choice(args.dataset)
    window.training.batch_size.setValue(args.batch_size)
    window.training.epochs.setValue(100000 if args.dataset != "mnist" else 100)
    if args.samples:
        window.training.samples.setValue(args.samples)
    if args.views == "all":
        open_inside_views(window)
    if args.draw:
        keep_drawing(window)

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
        "views": args.views,
        "epochs_ended": len(window.controller.history),
    }
    for kind, seconds in window.inspection.timings.items():
        if seconds:
            report[f"{kind}_ms"] = {"count": len(seconds), "median": 1000 * float(np.median(seconds)),
                                    "max": 1000 * float(np.max(seconds))}  # fmt: skip
    print(json.dumps(report, indent=2))
    return 0


def open_inside_views(window) -> None:
    """Every Inside dock shown and floating side by side."""
    for i, dock in enumerate(window.inside.docks.values()):
        dock.show()
        dock.setFloating(True)
        dock.resize(520, 420)
        dock.move(40 + 60 * i, 40 + 40 * i)


def keep_drawing(window) -> None:
    """A digit drawn on the pad now and every second (the activations view follows it)."""
    from PySide6.QtCore import QPoint, Qt, QTimer
    from PySide6.QtTest import QTest

    pad = window.digits.pad

    def draw() -> None:
        pad.clear()
        jitter = int(time.monotonic() * 7) % 20
        points = [QPoint(x + jitter, y) for x, y in ((70, 60), (210, 60), (200, 90), (150, 170), (125, 235))]
        QTest.mousePress(pad, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier, points[0])
        for p in points[1:]:
            QTest.mouseMove(pad, p)
        QTest.mouseRelease(pad, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier, points[-1])

    draw()
    window._latency_draw = QTimer(window)
    window._latency_draw.timeout.connect(draw)
    window._latency_draw.start(1000)


if __name__ == "__main__":
    sys.exit(main())
