"""``netcore bench``: seconds per training epoch, here and in PyTorch, on the same machine.

The MNIST MLP (batch 32, 128, 512) and the CNN of ``mnist_cnn.json`` (batch 64,
plus single-image inference: the median call, in alternating blocks) are trained for
whole epochs of 60,000 samples with Adam. Real MNIST is used when it is on disk, random data of its shape
otherwise (the time per epoch does not depend on the pixel values).
When PyTorch is importable the same network, batch and optimizer run there in
the same process, an epoch of each in turn (``--epochs`` rounds), and the ratio of
their fastest epochs netcore/PyTorch is reported (below 1: faster).
"""

from __future__ import annotations

import math
import platform
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from netcore import part_process
from netcore.network import Network
from netcore.parallel import batch_parts, parts_run_in
from netcore.resources import resource_path
from netcore.spec import SpecError, load_spec
from netcore.step_profile import format_profile, profile_step
from netcore.train import Trainer, TrainSettings

SPECS = resource_path("networks")
MLP_BATCHES = (32, 128, 512)
CNN_BATCH = 64


def mnist_like(data_dir: str | None) -> tuple[np.ndarray, np.ndarray, str]:
    """(60000, 1, 28, 28) float32 images and labels: MNIST if present, else random."""
    try:
        from netcore.data.mnist import load_mnist

        data = load_mnist(data_dir, download=False)
        return data.x_train, data.y_train, "mnist"
    except Exception:
        rng = np.random.default_rng(0)
        return rng.random((60000, 1, 28, 28), dtype=np.float32), rng.integers(0, 10, 60000), "random"


def netcore_epochs(
    spec: dict, x: np.ndarray, y: np.ndarray, batch: int, threads: int = 0
) -> Callable[[], float]:
    """A warmed-up netcore run: each call trains one more whole epoch and returns its seconds."""
    net = Network(spec, seed=0)
    xs = x.reshape((len(x),) + net.input_shape)
    settings = TrainSettings(epochs=1, batch_size=batch, threads=threads)
    Trainer(net, settings, xs[: batch * 20], y[: batch * 20]).run()  # warm-up
    trainer = Trainer(net, settings, xs, y)

    def epoch() -> float:
        trainer.run(epochs=1)
        return trainer.history[-1].seconds

    return epoch


def netcore_predictor(spec: dict, x: np.ndarray) -> Callable[[], object]:
    """One call: netcore's prediction of the first image."""
    net = Network(spec, seed=0)
    one = x[:1].reshape((1,) + net.input_shape)
    return lambda: net.predict(one)


def median_call_ms(calls: list[Callable[[], object]], repeats: int = 300, block: int = 30) -> list[float]:
    """The median milliseconds of one call of each, timed in alternating blocks of ``block``
    calls (A B A B ..., after a warm-up of each): a hiccup of the machine moves a median less
    than a mean, and a drift slows both alike."""
    for call in calls:
        for _ in range(20):
            call()
    times: list[list[float]] = [[] for _ in calls]
    for _ in range(max(1, repeats // block)):
        for call, own in zip(calls, times, strict=True):
            for _ in range(block):
                start = time.perf_counter()
                call()
                own.append(time.perf_counter() - start)
    return [float(np.median(own)) * 1e3 for own in times]


def torch_model(spec: dict):
    """The same architecture in PyTorch (for timing only)."""
    import torch.nn as nn

    return nn.Sequential(*(module for layer in torch_layers(spec) for module in layer))


def torch_layers(spec: dict) -> list:
    """The PyTorch modules of each of the spec's layers, one ``nn.Sequential`` per layer (a
    convolution or dense layer with its activation): netcore's layers, one for one."""
    import torch.nn as nn

    acts = {"relu": nn.ReLU, "leaky_relu": lambda: nn.LeakyReLU(0.01), "sigmoid": nn.Sigmoid, "tanh": nn.Tanh}
    shape = tuple(spec["input_shape"])
    layers = []
    for entry in spec["layers"]:
        modules = []
        layers.append(modules)
        kind = entry["type"]
        if kind == "dense":
            modules.append(nn.Linear(int(np.prod(shape)), entry["units"]))
            shape = (entry["units"],)
        elif kind == "conv2d":
            k = entry["kernel_size"]
            k = (k, k) if isinstance(k, int) else tuple(k)
            pad = entry.get("padding", "valid")
            stride = entry.get("stride", 1)
            padding = (k[0] // 2, k[1] // 2) if pad == "same" else (0, 0) if pad == "valid" else pad
            conv = nn.Conv2d(shape[0], entry["filters"], k, stride=stride, padding=padding)
            modules.append(conv)
            h = (shape[1] + 2 * conv.padding[0] - k[0]) // stride + 1
            w = (shape[2] + 2 * conv.padding[1] - k[1]) // stride + 1
            shape = (entry["filters"], h, w)
        elif kind in ("maxpool2d", "avgpool2d"):
            p = entry.get("pool_size", 2)
            s = entry.get("stride") or p
            modules.append((nn.MaxPool2d if kind == "maxpool2d" else nn.AvgPool2d)(p, s))
            shape = (shape[0], (shape[1] - p) // s + 1, (shape[2] - p) // s + 1)
        elif kind == "flatten":
            modules.append(nn.Flatten())
            shape = (int(np.prod(shape)),)
        elif kind == "dropout":
            modules.append(nn.Dropout(entry.get("rate", 0.5)))
        elif kind == "batchnorm":
            modules.append(nn.BatchNorm2d(shape[0]) if len(shape) == 3 else nn.BatchNorm1d(shape[0]))
        elif kind in acts:
            modules.append(acts[kind]())
        act = entry.get("activation")
        if act in acts:
            modules.append(acts[act]())
    return [nn.Sequential(*modules) for modules in layers]


def torch_epochs(
    spec: dict, x: np.ndarray, y: np.ndarray, batch: int, on_step: Callable[[float], None] | None = None
) -> Callable[[], float]:
    """The same in PyTorch: each call trains one more whole epoch and returns its seconds
    (``on_step`` is handed the clock after each step)."""
    import torch
    import torch.nn.functional as F

    torch.manual_seed(0)
    model = torch_model(spec)
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    xt = torch.from_numpy(np.ascontiguousarray(x.reshape((len(x),) + tuple(spec["input_shape"]))))
    yt = torch.from_numpy(y.astype(np.int64))

    def epoch(n: int = len(xt)) -> float:
        start = time.perf_counter()
        perm = torch.randperm(n)
        for i in range(0, n, batch):
            idx = perm[i : i + batch]
            loss = F.cross_entropy(model(xt[idx]), yt[idx])
            opt.zero_grad()
            loss.backward()
            opt.step()
            if on_step is not None:
                on_step(time.perf_counter())
        return time.perf_counter() - start

    epoch(min(batch * 20, len(xt)))  # warm-up
    return epoch


def torch_steps(spec: dict, x: np.ndarray, y: np.ndarray, batch: int) -> Callable[[int], list[float]]:
    """PyTorch's training steps at ``batch``: each call ``steps(k)`` trains k more whole batches
    (after 3 that warm up what the machine's other work in between left cold) and returns their
    seconds, the gaps between the steps' ends."""
    if len(x) < batch:
        raise ValueError(f"a step of {batch} samples needs at least {batch}, got {len(x)}")
    stamps: list[float] = []
    epoch = torch_epochs(spec, x, y, batch, on_step=stamps.append)

    def steps(count: int) -> list[float]:
        stamps.clear()
        need = 3 + 1 + count
        while len(stamps) < need:  # whole batches, over the data again if it is short
            epoch(batch * min(need - len(stamps), len(x) // batch))
        return list(np.diff(stamps[3:need]))

    return steps


def torch_layer_passes(spec: dict) -> Callable[..., tuple[list[list[float]], list[list[float]]]]:
    """PyTorch's layers timed one at a time, as ``netcore.step_profile`` times netcore's:
    ``passes(x, labels, count, one_thread)`` runs ``count`` training passes over the batch x
    (its cross-entropy against the labels) and returns each layer's forward and backward
    seconds, ([pass][layer], the same). Each layer takes a detached input and its backward is
    its own autograd call (the first layer's computes no input gradient, as netcore's does not):
    each time holds that layer's kernels and the per-call overhead PyTorch's whole step pays too.
    ``one_thread``: on one thread, as a split batch's part trains; else on PyTorch's own thread
    count."""
    import torch
    import torch.nn.functional as F

    torch.manual_seed(0)
    layers = torch_layers(spec)
    for layer in layers:
        layer.train()

    def passes(x: np.ndarray, labels: np.ndarray, count: int, one_thread: bool):
        threads = torch.get_num_threads()
        torch.set_num_threads(1 if one_thread else threads)
        xt = torch.from_numpy(np.ascontiguousarray(x.reshape((len(x),) + tuple(spec["input_shape"]))))
        yt = torch.from_numpy(np.asarray(labels).astype(np.int64))
        forward, backward = [], []
        try:
            for _ in range(count + 1):  # a first pass to warm up, not counted
                for layer in layers:
                    layer.zero_grad(set_to_none=True)
                f_times, b_times, links = [], [], []
                h = xt
                for k, layer in enumerate(layers):
                    inp = h.detach().requires_grad_(k > 0)
                    start = time.perf_counter()
                    h = layer(inp)
                    f_times.append(time.perf_counter() - start)
                    links.append((inp, h))
                scores = h.detach().requires_grad_(True)
                F.cross_entropy(scores, yt).backward()
                grad = scores.grad
                for inp, out in reversed(links):
                    start = time.perf_counter()
                    if out.requires_grad:  # not a first layer without parameters (a flatten)
                        out.backward(grad)
                    b_times.append(time.perf_counter() - start)
                    grad = inp.grad
                forward.append(f_times)
                backward.append(b_times[::-1])
        finally:
            torch.set_num_threads(threads)
        return forward[1:], backward[1:]

    return passes


def alternate(runs: list[Callable[[], float]], epochs: int) -> list[list[float]]:
    """Each run's epoch seconds, taking turns (A B A B ...) so that a machine whose speed drifts
    slows both alike: ``[[a1, a2, ...], [b1, b2, ...]]``."""
    times: list[list[float]] = [[] for _ in runs]
    for _ in range(epochs):
        for run, seconds in zip(runs, times, strict=True):
            seconds.append(run())
    return times


def torch_predictor(spec: dict, x: np.ndarray) -> Callable[[], object]:
    """One call: PyTorch's prediction of the first image (no autograd)."""
    import torch

    model = torch_model(spec).eval()
    one = torch.from_numpy(np.ascontiguousarray(x[:1].reshape((1,) + tuple(spec["input_shape"]))))

    def predict():
        with torch.no_grad():
            return model(one)

    return predict


def torch_available() -> bool:
    try:
        import torch

        torch.set_num_threads(2)
        return True
    except ImportError:
        return False


def peak_rss_mib() -> float | None:
    """This process's peak resident memory in MiB; None where the OS does not report it (Windows)."""
    try:
        import resource  # POSIX only
    except ImportError:
        return None
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak / 2**20 if sys.platform == "darwin" else peak / 1024  # bytes on macOS, KiB elsewhere


def machine() -> dict[str, Any]:
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return {"cpu": cpu, "python": platform.python_version(), "numpy": np.__version__, "blas": blas_kernel()}


def blas_kernel() -> str | None:
    """NumPy's BLAS, its CPU kernel and threads, e.g. "openblas 0.3.31 SkylakeX, 2 threads"
    (the kernel sets the speed of every product), from threadpoolctl."""
    from threadpoolctl import threadpool_info

    for pool in threadpool_info():
        if pool.get("user_api") == "blas":
            kernel = pool.get("architecture") or "?"
            return (
                f"{pool['internal_api']} {pool.get('version') or ''} {kernel}, {pool['num_threads']} threads"
            )
    return None


def product_speed() -> dict[str, float]:
    """GFLOP/s of a float32 1024^3 product on one BLAS thread and on all of them (the best of 5
    each): where two threads gain little over one, another process holds a core and every timing
    that uses both (a split step, PyTorch's) is slowed."""
    from threadpoolctl import threadpool_limits

    a = np.random.default_rng(0).random((1024, 1024), dtype=np.float32)
    out = np.empty_like(a)

    def best() -> float:
        seconds = []
        for _ in range(5):
            start = time.perf_counter()
            np.matmul(a, a, out=out)
            seconds.append(time.perf_counter() - start)
        return 2 * 1024**3 / min(seconds) / 1e9

    with threadpool_limits(1):
        one = best()
    return {"one_thread_gflops": one, "all_threads_gflops": best()}


def check_size(path: Path, spec: dict) -> None:
    """Refuse a design too large to allocate, before allocating it (same limit as model files)."""
    from netcore.serialization import MAX_MODEL_ENV, max_model_bytes
    from netcore.spec import check_spec

    count = sum(info.num_params for info in check_spec(spec))
    if count * 4 > max_model_bytes():
        raise SpecError(
            f"{path} has {count:,} parameters, more than the {max_model_bytes() / 2**20:,.0f} MB limit "
            f"(set {MAX_MODEL_ENV} to raise it)"
        )


def run_bench(
    epochs: int = 1,
    only: str | None = None,
    use_torch: bool = True,
    data_dir: str | None = None,
    log: Callable[[str], None] | None = print,
    specs: list[Path] | None = None,
    batch: int | None = None,
    samples: int | None = None,
    threads: int = 0,
    layers: bool = False,
) -> dict[str, Any]:
    """Time the benchmarks; returns a JSON-able report and logs a line per measurement.

    ``specs``: time these 1x28x28-input networks (at ``batch``, default 64) instead
    of the standard set. ``samples``: a shorter epoch than MNIST's 60,000. ``threads``: as
    ``TrainSettings.threads`` (0: netcore's own choice, ``netcore.parallel.batch_parts``).
    ``layers``: where one training step's time goes (``netcore.step_profile``) instead of epochs.
    """
    say = log or (lambda line: None)
    for what, value in (("batch size", batch), ("samples", samples), ("epochs", epochs)):
        if value is not None and value < 1:
            raise ValueError(f"bench {what} must be a positive integer, got {value}")
    if threads < 0:
        raise ValueError(f"bench threads must be an integer >= 0, got {threads}")
    x, y, source = mnist_like(data_dir)
    if samples is not None:
        x, y = x[:samples], y[:samples]
    with_torch = use_torch and torch_available()
    report: dict[str, Any] = {"machine": machine(), "data": source, "torch": with_torch, "results": []}
    if with_torch:
        import torch

        report["torch_version"] = torch.__version__
    say(
        f"netcore bench on {report['machine']['cpu']}"
        + (f" ({report['machine']['blas']})" if report["machine"]["blas"] else "")
        + f"; data: {source}; "
        f"PyTorch: {report.get('torch_version', 'not installed' if use_torch else 'not asked for')}"
    )
    if layers:
        report["products"] = speed = product_speed()
        say(
            f"a 1024^3 float32 product: {speed['one_thread_gflops']:.0f} GFLOP/s on one thread, "
            f"{speed['all_threads_gflops']:.0f} on all (where all gain little over one, a core is busy)"
        )
    cases = []
    if specs:
        cases = [(Path(path).stem, Path(path), batch or CNN_BATCH) for path in specs]
    if not specs and only in (None, "mlp"):
        cases += [("mlp", SPECS / "mnist_mlp.json", b) for b in ([batch] if batch else MLP_BATCHES)]
    if not specs and only in (None, "cnn"):
        cases.append(("cnn", SPECS / "mnist_cnn.json", batch or CNN_BATCH))
    for name, path, batch_size in cases:
        spec = load_spec(path)
        if "input_shape" in spec and math.prod(spec["input_shape"]) != 784:
            raise SpecError(
                f"{path} takes {spec['input_shape']} inputs; bench feeds 28x28 MNIST-shaped images"
            )
        check_size(path, spec)
        has_conv = any(entry["type"] == "conv2d" for entry in spec["layers"])
        row: dict[str, Any] = {"network": name, "spec": path.name, "batch": batch_size, "samples": len(x)}
        network = Network(spec)
        row["netcore_threads"] = parts = batch_parts(network, batch_size, threads)
        row["netcore_parts_in"] = where = parts_run_in(network)
        if layers:
            beside = torch_steps(spec, x, y, batch_size) if with_torch else None
            beside_layers = torch_layer_passes(spec) if with_torch else None
            row["profile"] = profile = profile_step(
                spec, x, y, batch_size, threads, beside=beside, beside_layers=beside_layers
            )
            line = format_profile(name, batch_size, profile, other="PyTorch")
            if with_torch:
                row["torch_step_ms"] = torch_ms = profile["beside_step_ms"]
                line += (
                    f"\n  PyTorch's whole step: {torch_ms:.3f} ms (median of {profile['steps']}, in blocks"
                    f" alternating with netcore's); netcore / PyTorch {profile['step_ms'] / torch_ms:.2f}x"
                )
                # the two engines' layers alone, summed, and what each whole step spends beyond them
                ours, theirs = profile["layers_ms"], profile["beside_layers_ms"]
                row["torch_layers_ms"] = theirs
                line += (
                    f"\n  the layers alone, summed: netcore {ours:.3f}, PyTorch {theirs:.3f} ms; each whole"
                    f" step beyond them: netcore {profile['step_ms'] - ours:+.3f}, PyTorch {torch_ms - theirs:+.3f}"
                )
            report["results"].append(row)
            say(line)
            continue
        runs = [netcore_epochs(spec, x, y, batch_size, threads)]
        if with_torch:
            runs.append(torch_epochs(spec, x, y, batch_size))
        times = alternate(runs, epochs)
        row["netcore_epochs_s"] = times[0]
        row["netcore_s"] = min(times[0])
        row["netcore_samples_per_s"] = len(x) / row["netcore_s"]
        rate = row["netcore_samples_per_s"]
        line = f"{name} batch {batch_size:4d}: netcore {row['netcore_s']:6.2f} s/epoch ({rate:,.0f}/s)"
        line += f" on {parts} {where}" if parts > 1 else ""
        if with_torch:
            row["torch_epochs_s"] = times[1]
            row["torch_s"] = min(times[1])
            row["ratio"] = row["netcore_s"] / row["torch_s"]
            row["round_ratios"] = [a / b for a, b in zip(times[0], times[1], strict=True)]
            line += f"  pytorch {row['torch_s']:6.2f} s/epoch  ratio {row['ratio']:.2f}x"
            if epochs > 1:
                line += " (rounds: " + ", ".join(f"{r:.2f}x" for r in row["round_ratios"]) + ")"
        if has_conv:
            predictors = [netcore_predictor(spec, x)] + ([torch_predictor(spec, x)] if with_torch else [])
            medians = median_call_ms(predictors)
            row["netcore_inference_ms"] = medians[0]
            line += f"\n{'':18}single-image inference (median): netcore {medians[0]:.3f} ms"
            if with_torch:
                row["torch_inference_ms"] = medians[1]
                line += f", pytorch {medians[1]:.3f} ms"
        report["results"].append(row)
        say(line)
    report["peak_rss_mib"] = peak_rss_mib()
    report["part_processes_peak_rss_mib"] = child_peaks = part_process.peak_rss_mib()
    if report["peak_rss_mib"] is not None:
        more = (
            f", and {sum(child_peaks):.0f} MiB in {len(child_peaks)} part process(es)" if child_peaks else ""
        )
        say(f"peak memory (whole process, both engines): {report['peak_rss_mib']:.0f} MiB{more}")
    return report
