"""Training health: per-layer norms, update ratios, dead ReLU units and weight histograms per epoch.

The trainer owns one ``HealthRecorder`` and calls it around each optimizer step; the recorder
reads arrays the step already has (the flat parameter and gradient buffers, the ReLU outputs a
layer keeps for its backward) and never allocates per batch beyond one parameter-sized buffer.

Cost, per training step:
- every ``every``-th batch (default 20, and the first of each epoch): one copy of the
  parameters and four O(parameters) vector passes (gradient, update and weight norms per layer);
- every batch: for each ReLU layer, a look at the units that have *not fired yet* this epoch
  (after the first batch of a healthy network none are left, so this is a length check);
- at the end of an epoch: one O(parameters) histogram pass.
Epochs recorded: every one of the first 100, then every 10th up to 1,000, every 100th up to
10,000, ... (about 100 records per decade of epochs), so a 3,000-epoch XOR run keeps ~210
records and pays nothing on the others. One record is O(layers x bins) numbers (~1 kB of JSON
for a 5-layer network with 20 bins).

A record (JSON-able, saved in the model file's history under ``"health"``)::

    {"every": 20, "sampled_batches": 94,
     "layers": [{"index": 0, "kind": "dense", "name": "Dense(784 -> 128, relu)",
                 "weight_norm": 12.3,    # ||all the layer's parameters|| at the epoch end
                 "grad_norm": 0.051,     # mean over sampled batches of ||gradient|| (as stepped:
                                         #   after L2 and clipping)
                 "update_ratio": 0.0011, # mean over sampled batches of ||step|| / ||parameters after it||
                 "dead_fraction": 0.02,  # ReLU units that never fired in the epoch (None: no ReLU)
                 "histogram": {"lo": -0.4, "hi": 0.41, "counts": [...bins]}},  # of W (or all params)
                ...]}

Layers without parameters appear only if they are ReLU layers (norms None). A run stopped
mid-epoch leaves that partial epoch's sums in the recorder: they count towards the next epoch.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from netcore.layers import Conv2D, ReLU
from netcore.network import Network

BINS = 20
EVERY = 20


def records_epoch(epoch: int) -> bool:
    """Whether health is recorded for ``epoch`` (1-based): all of 1..100, then ~100 per decade."""
    stride = 1
    while epoch > 100 * stride:
        stride *= 10
    return epoch % stride == 0 or epoch <= 100


def relu_output(layer) -> tuple[np.ndarray, int] | None:
    """The ReLU output a layer keeps for backward and its unit axis, or None.

    Dense with ReLU: act.y (N, units), axis 1; a ReLU layer: y (N, C, ...), axis 1; Conv2D with
    ReLU: its outputs, filters first (F, ...) (``Conv2D.kept_relu_output``), axis 0.
    """
    if isinstance(layer, ReLU):
        return (layer.y, 1) if layer.y is not None else None
    if isinstance(layer, Conv2D) and layer.act.kind == "relu":
        z = layer.kept_relu_output()  # the fused ReLU's output (kept for backward)
        return None if z is None else (z, 0)
    act = getattr(layer, "act", None)
    if act is not None and act.kind == "relu" and act.y is not None:
        return act.y, 1
    return None


@dataclass
class _Watched:
    index: int
    kind: str
    name: str
    span: tuple[int, int] | None  # the layer's slice of flat_params / flat_grads
    hist_key: str | None  # which parameter the histogram is of ("W", else all)
    units: int | None  # ReLU units (None: not a ReLU layer)


class HealthRecorder:
    """Accumulates one epoch of health for ``network``; see the module docstring for the record."""

    def __init__(self, network: Network, every: int = EVERY, bins: int = BINS) -> None:
        self.network, self.every, self.bins = network, max(1, int(every)), int(bins)
        self.watched: list[_Watched] = []
        offset = 0
        for i, layer in enumerate(network.layers):
            size = sum(p.size for p in layer.params.values())
            span = (offset, offset + size) if size else None
            if size:
                first = next(iter(layer.params.values()))
                assert np.shares_memory(first, network.flat_params[offset : offset + size])
            offset += size
            units = _relu_units(layer)
            if span or units:
                key = "W" if "W" in layer.params else None
                self.watched.append(_Watched(i, layer.kind, layer.describe(), span, key, units))
        self._before = np.empty(0, network.dtype)
        # what trained the other parts of the batch (netcore.parallel): their ReLUs fire too.
        # Thread replicas (Network) or parts in processes (their ``fired_units(index)``)
        self.replicas: list = []
        self.active = True
        self._reset()

    def _reset(self) -> None:
        n = len(self.watched)
        self._steps = self._samples = 0
        self._grad = np.zeros(n)
        self._ratio = np.zeros(n)
        self._silent = {w.index: np.arange(w.units) for w in self.watched if w.units}
        self._pending = False

    # -- the two hooks around optimizer.step -----------------------------------------------
    def before_step(self) -> None:
        """Call after backward (gradients final), before the optimizer changes the parameters."""
        if not self.active:
            return
        self._steps += 1
        self._track_silent()
        if (self._steps - 1) % self.every:
            return
        net = self.network
        for j, w in enumerate(self.watched):
            if w.span:
                g = net.flat_grads[w.span[0] : w.span[1]]
                self._grad[j] += np.sqrt(float(np.vdot(g, g)))
        if self._before.shape != net.flat_params.shape:
            self._before = np.empty_like(net.flat_params)
        np.copyto(self._before, net.flat_params)
        self._pending = True

    def after_step(self) -> None:
        """Call right after the optimizer step."""
        if not self._pending:
            return
        self._pending = False
        params = self.network.flat_params
        delta = np.subtract(params, self._before, out=self._before)
        for j, w in enumerate(self.watched):
            if w.span:
                a, b = w.span
                p = float(np.vdot(params[a:b], params[a:b]))
                self._ratio[j] += np.sqrt(float(np.vdot(delta[a:b], delta[a:b])) / p) if p > 0 else 0.0
        self._samples += 1

    def silent_units(self) -> dict[int, np.ndarray]:
        """{layer index: its units that have not fired yet this epoch}, while tracking (else {})."""
        return {i: units for i, units in self._silent.items() if units.size} if self.active else {}

    def _track_silent(self) -> None:
        for part in [self.network, *self.replicas]:
            for index, silent in self._silent.items():
                if not silent.size:
                    continue
                if isinstance(part, Network):
                    fired = fired_units(part.layers[index], silent)
                    if fired is not None:
                        self._silent[index] = silent[~fired]
                else:  # a part in another process: which of the units asked (start's watch) fired
                    units = part.fired_units(index)
                    if units is not None:
                        self._silent[index] = silent[~np.isin(silent, units)]

    # -- the epoch's record --------------------------------------------------------------
    def end_epoch(self, epoch: int) -> dict | None:
        """The record of the epoch just finished (None if it was not recorded); starts the next."""
        record = self._record() if self.active and self._steps else None
        self.active = records_epoch(epoch + 1)
        self._reset()
        return record

    def _record(self) -> dict:
        net, s = self.network, max(self._samples, 1)
        layers = []
        for j, w in enumerate(self.watched):
            row = {"index": w.index, "kind": w.kind, "name": w.name}
            if w.span:
                a, b = w.span
                values = net.layers[w.index].params[w.hist_key] if w.hist_key else net.flat_params[a:b]
                row.update(
                    weight_norm=_short(np.sqrt(float(np.vdot(net.flat_params[a:b], net.flat_params[a:b])))),
                    grad_norm=_short(self._grad[j] / s) if self._samples else None,
                    update_ratio=_short(self._ratio[j] / s) if self._samples else None,
                    histogram=_histogram(values, self.bins),
                )
            else:
                row.update(weight_norm=None, grad_norm=None, update_ratio=None, histogram=None)
            row["dead_fraction"] = _short(self._silent[w.index].size / w.units) if w.units else None
            layers.append(row)
        return {"every": self.every, "sampled_batches": self._samples, "layers": layers}


def fired_units(layer, units: np.ndarray) -> np.ndarray | None:
    """Whether each of ``units`` (indices) fired in the layer's last forward: (len(units),) bool,
    or None when the layer keeps no ReLU output."""
    found = relu_output(layer)
    if found is None:
        return None
    y, axis = found
    # y >= 0 after a ReLU, so a unit fired iff any of its values is non-zero
    taken = y[:, units] if axis == 1 else y[units]
    return taken.reshape(taken.shape[0], -1).any(axis=1) if axis == 0 else _any_per_unit(taken)


def _any_per_unit(taken: np.ndarray) -> np.ndarray:
    """(N, U, ...) -> (U,) whether any value of each unit is non-zero."""
    fired = taken.any(axis=0)
    return fired if fired.ndim == 1 else fired.reshape(fired.shape[0], -1).any(axis=1)


def _relu_units(layer) -> int | None:
    if isinstance(layer, ReLU):
        return int(layer.in_shape[0]) if layer.in_shape else None
    act = getattr(layer, "act", None)
    if act is not None and act.kind == "relu" and layer.out_shape:
        return int(layer.out_shape[0])
    return None


def _histogram(values: np.ndarray, bins: int) -> dict:
    values = values.reshape(-1)
    lo, hi = float(values.min()), float(values.max())
    if hi <= lo:
        hi = lo + 1e-12
    counts, _ = np.histogram(values, bins=bins, range=(lo, hi))
    return {"lo": _short(lo), "hi": _short(hi), "counts": counts.tolist()}


def _short(value: float) -> float:
    """Six significant digits: enough to plot, and a short JSON record."""
    return float(f"{float(value):.6g}")


@dataclass(frozen=True)
class HealthSeries:
    """A history's health records as arrays over epochs, for plots (NaN where not applicable).

    epochs: (E,) the recorded epochs (1-based);  names: L layer descriptions;  indices: L layer indices
    weight_norm, grad_norm, update_ratio, dead_fraction: (E, L)
    hist_counts: (E, L, B) weight histograms;  hist_range: (E, L, 2) their (lo, hi)
    """

    epochs: np.ndarray
    indices: list[int]
    names: list[str]
    weight_norm: np.ndarray
    grad_norm: np.ndarray
    update_ratio: np.ndarray
    dead_fraction: np.ndarray
    hist_counts: np.ndarray
    hist_range: np.ndarray


def health_series(history: list[dict]) -> HealthSeries:
    """Collect the ``"health"`` records of a history (a model file's list of epoch dicts, or
    ``EpochStats.to_dict()`` rows); epochs without one are left out."""
    rows = [(int(h.get("epoch", i + 1)), h["health"]) for i, h in enumerate(history) if h.get("health")]
    indices: list[int] = []
    names: dict[int, str] = {}
    bins = 0
    for _, record in rows:
        for layer in record["layers"]:
            if layer["index"] not in names:
                indices.append(layer["index"])
                names[layer["index"]] = layer["name"]
            if layer.get("histogram"):
                bins = max(bins, len(layer["histogram"]["counts"]))
    indices.sort()
    column = {index: j for j, index in enumerate(indices)}
    e, n = len(rows), len(indices)
    arrays = {
        key: np.full((e, n), np.nan) for key in ("weight_norm", "grad_norm", "update_ratio", "dead_fraction")
    }
    counts = np.zeros((e, n, bins))
    ranges = np.full((e, n, 2), np.nan)
    for i, (_, record) in enumerate(rows):
        for layer in record["layers"]:
            j = column[layer["index"]]
            for key, values in arrays.items():
                if layer.get(key) is not None:
                    values[i, j] = layer[key]
            hist = layer.get("histogram")
            if hist:
                counts[i, j, : len(hist["counts"])] = hist["counts"]
                ranges[i, j] = (hist["lo"], hist["hi"])
    return HealthSeries(
        np.array([epoch for epoch, _ in rows], dtype=np.int64),
        indices,
        [names[i] for i in indices],
        hist_counts=counts,
        hist_range=ranges,
        **arrays,
    )
