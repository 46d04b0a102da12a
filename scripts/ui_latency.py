"""Measure how responsive the window stays while MNIST trains on the worker.

A 10 ms QTimer ticks on the UI thread; the gaps between ticks, minus 10 ms, are the
event loop's stalls. Prints max and p99, with training samples per second, e.g.

    NETCORE_DATA_DIR=../shared/datasets QT_QPA_PLATFORM=offscreen python scripts/ui_latency.py --seconds 20

``--views all`` opens every Inside view at once (each dock floating, so none hides behind a
tab) and reports how long each inspection computation took; compare with ``--views none``
(the default) on the same spec, both with ``--draw`` (a digit drawn on the pad every second):

    ... python scripts/ui_latency.py --spec mnist_cnn --batch-size 64 --seconds 120 --draw --views all

``--compare-cli`` then trains the same network, data and settings without the window (the
trainer on the main thread, as ``netcore train`` runs it) for as long, in the same process,
and reports both rates and their ratio; ``--rounds`` alternates window and headless runs
(each round a fresh network) so that a drifting machine does not favour either side.

The probe costs the window something itself: its 10 ms ticks took the UI thread ~2 % of a
core while the MNIST CNN trained (2.2 % against 0.3 % at ``--tick-ms 100`` with the plot's
updates off, 2-core AMD EPYC), as much as the plot's redraws, and the window trained 1.02x
as fast at ``--tick-ms 100`` (median of 12 alternating rounds). ``--tick-ms 100`` measures
the rate with a lighter probe (and stalls only above 100 ms).
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
    parser.add_argument(
        "--compare-cli", action="store_true", help="also train headless and compare samples/s"
    )
    parser.add_argument("--rounds", type=int, default=1, help="window/headless pairs with --compare-cli")
    parser.add_argument("--tick-ms", type=int, default=10, help="the UI-thread probe's interval (ms)")
    parser.add_argument(
        "--profile", metavar="FILE", help="cProfile the UI thread while training; stats to FILE (pstats)"
    )
    args = parser.parse_args()

    from PySide6.QtWidgets import QApplication

    if args.switch_interval:
        sys.setswitchinterval(args.switch_interval)
    app = QApplication.instance() or QApplication(sys.argv[:1])
    rounds = max(1, args.rounds) if args.compare_cli else 1
    reports = []
    for _ in range(rounds):
        report, run = window_run(app, args)
        if report is None:
            print("no training happened (is MNIST in NETCORE_DATA_DIR?)", file=sys.stderr)
            return 1
        if args.compare_cli:
            report["cli_samples_per_second"] = headless_run(*run, args.seconds)
            report["window_vs_cli"] = report["samples_per_second"] / report["cli_samples_per_second"]
        reports.append(report)
    print(json.dumps(reports[0] if rounds == 1 else reports, indent=2))
    return 0


def window_run(app, args):
    """Train in a new window for ``args.seconds``: (report, (spec, settings, data, augment)) or (None, None)."""
    from PySide6.QtCore import QElapsedTimer, QSettings, QTimer

    from desktop.main_window import MainWindow

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

    cpu: list[tuple[float, float]] = []  # (wall, UI thread CPU seconds) while training

    def tick() -> None:
        if clock.isValid() and window.controller.state == "training":
            gaps.append(clock.nsecsElapsed() / 1e6)
            cpu.append((time.perf_counter(), time.thread_time()))
        clock.restart()

    timer = QTimer()
    timer.setInterval(args.tick_ms)
    timer.timeout.connect(tick)
    timer.start()
    profiler = None
    if args.profile:  # the UI thread only: cProfile hooks the thread that enables it
        import cProfile

        profiler = cProfile.Profile()
        profiler.enable()
    window.train()

    def finish() -> None:
        window.controller.stop()
        window.close_discarding()  # a window with unsaved weights refuses to close (and so to quit)
        app.quit()

    QTimer.singleShot(int(args.seconds * 1000), finish)
    app.exec()
    timer.stop()
    # The stop makes the window evaluate the test set on a task thread, once the events of the end
    # of training arrive: let them and it finish here, or the evaluation runs into the headless run
    # and the next round (measured: their first seconds at 2,081-3,620 samples/s, then ~4,000).
    deadline = time.monotonic() + 60
    while window.controller.threads.count() and time.monotonic() < deadline:
        app.processEvents()
        window.controller.shutdown()
    if profiler is not None:
        profiler.disable()
        profiler.dump_stats(args.profile)
    controller = window.controller
    session = controller.session
    data = controller.dataset(session.data_choice)
    run = (session.network.spec, session.settings, data, session.data_choice.augment) if data else None
    timings = {k: v for k, v in window.inspection.timings.items() if v}
    epochs_ended = len(controller.history)
    if not gaps or len(samples) < 2 or run is None:
        return None, None
    stall = np.maximum(np.array(gaps) - args.tick_ms, 0)
    report = {
        "ticks": len(gaps),
        "max_gap_ms": float(np.max(gaps)),
        "p99_gap_ms": float(np.percentile(gaps, 99)),
        "median_gap_ms": float(np.median(gaps)),
        "p99_stall_ms": float(np.percentile(stall, 99)),
        # the three longest gaps: (seconds after the first tick, ms), to find what stalled
        "worst_gaps": [
            (round(cpu[i][0] - cpu[0][0], 2), round(gaps[i], 1)) for i in np.argsort(gaps)[-3:][::-1]
        ],
        "samples_per_second": rate(samples),
        # the share of one core the UI thread used while training (CPU time, robust to neighbours)
        "ui_thread_cpu_share": (cpu[-1][1] - cpu[0][1]) / (cpu[-1][0] - cpu[0][0]) if len(cpu) > 1 else 0.0,
        "views": args.views,
        "tick_ms": args.tick_ms,
        "epochs_ended": epochs_ended,
    }
    for kind, seconds in timings.items():  # how long each inspection computation took
        report[f"{kind}_ms"] = {"count": len(seconds), "median": 1000 * float(np.median(seconds)),
                                "max": 1000 * float(np.max(seconds))}  # fmt: skip
    return report, run


def headless_run(spec, settings, data, augment, seconds: float) -> float:
    """Samples per second of the same training without a window, for ``seconds``."""
    from netcore.experiment import make_trainer
    from netcore.network import Network

    trainer = make_trainer(Network(spec, seed=settings.seed), data, settings, augment=augment)
    samples: list[tuple[float, int]] = []
    start = time.perf_counter()
    trainer.run(
        100,
        on_batch=lambda s: samples.append((time.perf_counter(), s.samples)),
        should_stop=lambda: time.perf_counter() - start > seconds,
    )
    return rate(samples)


def rate(samples: list[tuple[float, int]]) -> float:
    """Samples per second between the first and the last (time, samples seen) report."""
    (t0, s0), (t1, s1) = samples[0], samples[-1]
    return (s1 - s0) / (t1 - t0) if t1 > t0 else 0.0


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
