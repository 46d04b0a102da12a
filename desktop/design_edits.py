"""Edits of a network spec made on the drawing, and whether the engine accepts them. No Qt.

Each edit takes a spec and returns a new one (the input is never changed), so the
designer can ask "would this fit?" while a drag hovers and push the very same result
as one undo step when it is dropped. ``*_problem`` functions return None when an edit
is acceptable, or one line saying why not, taken from ``netcore.spec.check_spec``.

An edit is refused only when it makes things worse: a valid design that would become
invalid, or, in a design that is already invalid (being built), a new layer that itself
does not fit where it is put. Everything else stays possible, as it is in the form.
"""

from __future__ import annotations

import copy
import math
from typing import Any

from desktop.design import kind_of, new_layer, settings_of
from netcore.spec import SpecError, check_spec

Spec = dict[str, Any]

# The setting a double-click or F2 edits in place, and the one +/- steps, by layer type.
MAIN_SETTING = {
    "dense": "units",
    "conv2d": "filters",
    "maxpool2d": "pool_size",
    "avgpool2d": "pool_size",
    "dropout": "rate",
    "leaky_relu": "alpha",
    "batchnorm": "momentum",
    "reshape": "shape",
}
STEPPED = {"dense": "units", "conv2d": "filters"}
STEP_LIMITS = {"units": (1, 65536), "filters": (1, 4096)}


def layers_of(spec: Spec) -> list[Any]:
    layers = spec.get("layers")
    return layers if isinstance(layers, list) else []


def problem(spec: Spec) -> tuple[int | None, str] | None:
    """(layer index or None, message) of the engine's first complaint, or None if valid."""
    try:
        check_spec(spec)
    except SpecError as exc:
        return exc.layer_index, str(exc)
    except (ValueError, TypeError) as exc:
        return None, f"{type(exc).__name__}: {exc}"
    return None


def _worse(before: Spec, after: Spec, new_index: int | None = None) -> str | None:
    """Why ``after`` is refused (see the module docstring), or None."""
    now = problem(after)
    if now is None:
        return None
    if problem(before) is None or (new_index is not None and now[0] == new_index):
        return now[1]
    return None


def shape_before(spec: Spec, index: int) -> tuple[int, ...] | None:
    """The shape that reaches layer ``index``, or None if the layers before it are not valid."""
    head = {**spec, "layers": layers_of(spec)[:index], "loss": "mse"}
    if index == 0:
        head["layers"] = [{"type": "linear"}]  # check_spec wants one layer; linear keeps the shape
    try:
        return tuple(check_spec(head)[-1].out_shape)
    except (ValueError, TypeError):
        return None


def _fitted(entry: dict[str, Any], spec: Spec, index: int) -> dict[str, Any]:
    """A new reshape keeps its default shape where that many values arrive, else the arriving shape
    (so it fits anywhere it is dropped, to be edited in place)."""
    if entry.get("type") == "reshape":
        arriving = shape_before(spec, index)
        target = entry.get("shape")
        if arriving and isinstance(target, list) and math.prod(target) != math.prod(arriving):
            entry["shape"] = list(arriving)
    return entry


# -- the edits ------------------------------------------------------------------------------
def insert_layer(spec: Spec, index: int, kind: str) -> Spec:
    """A new ``kind`` layer before layer ``index`` (``index == len(layers)`` appends)."""
    after = copy.deepcopy(spec)
    layers = after.setdefault("layers", [])
    index = max(0, min(index, len(layers)))
    layers.insert(index, _fitted(new_layer(kind), spec, index))
    return after


def insert_problem(spec: Spec, index: int, kind: str) -> str | None:
    """Why a ``kind`` layer cannot go before layer ``index``, or None."""
    reason = _worse(spec, insert_layer(spec, index, kind), new_index=index)
    return None if reason is None else f"No {kind} here: {reason}"


def move_target(source: int, gap: int) -> int:
    """The index layer ``source`` ends at when dropped into ``gap`` (0 = before the first layer)."""
    return gap - 1 if gap > source else gap


def move_layer(spec: Spec, source: int, gap: int) -> Spec:
    """Layer ``source`` taken out and put into ``gap`` (a gap index counts the old layers)."""
    after = copy.deepcopy(spec)
    layers = layers_of(after)
    entry = layers.pop(source)
    layers.insert(move_target(source, gap), entry)
    return after


def move_problem(spec: Spec, source: int, gap: int) -> str | None:
    if move_target(source, gap) == source:
        return None
    reason = _worse(spec, move_layer(spec, source, gap))
    kind = kind_of(layers_of(spec)[source])
    return None if reason is None else f"The {kind} cannot go here: {reason}"


def remove_layer(spec: Spec, index: int) -> Spec:
    after = copy.deepcopy(spec)
    layers_of(after).pop(index)
    return after


def duplicate_layer(spec: Spec, index: int) -> Spec:
    """A copy of layer ``index`` right after it."""
    after = copy.deepcopy(spec)
    layers = layers_of(after)
    layers.insert(index + 1, copy.deepcopy(layers[index]))
    return after


def change_type(spec: Spec, index: int, kind: str) -> Spec:
    """Layer ``index`` made a ``kind``, keeping the settings the new type accepts."""
    after = copy.deepcopy(spec)
    layers = layers_of(after)
    old = layers[index] if isinstance(layers[index], dict) else {}
    entry = new_layer(kind, keep=old)
    layers[index] = entry if old.get("type") == kind else _fitted(entry, spec, index)
    return after


def change_type_problem(spec: Spec, index: int, kind: str) -> str | None:
    reason = _worse(spec, change_type(spec, index, kind), new_index=index)
    return None if reason is None else f"No {kind} here: {reason}"


def set_setting(spec: Spec, index: int, name: str, value: Any) -> Spec:
    """Layer ``index`` with ``name`` set to ``value`` (None removes it: the type's default)."""
    after = copy.deepcopy(spec)
    entry = layers_of(after)[index]
    if value is None:
        entry.pop(name, None)
    else:
        entry[name] = value
    return after


def has_activation(entry: Any) -> bool:
    return any(name == "activation" for name, _ in settings_of(kind_of(entry)))


def main_setting(entry: Any) -> str | None:
    """The setting edited in place for this layer, if its type has one."""
    name = MAIN_SETTING.get(kind_of(entry))
    return name if name and any(n == name for n, _ in settings_of(kind_of(entry))) else None


# -- +/- ------------------------------------------------------------------------------------
def _ladder_up(value: int) -> int:
    """The next value of 1..16 then four steps per doubling: 20, 24, 28, 32, 40, 48, ..."""
    if value < 16:
        return value + 1
    step = 1 << max(value.bit_length() - 3, 0)  # a quarter of the power of two below
    return (value // step + 1) * step


def _ladder_down(value: int) -> int:
    if value <= 16:
        return value - 1
    step = 1 << max((value - 1).bit_length() - 3, 0)
    return (-(-value // step) - 1) * step


def step_value(value: int, delta: int, name: str = "units") -> int:
    """``value`` moved ``delta`` steps along the ladder, kept within the setting's limits."""
    low, high = STEP_LIMITS.get(name, (1, 65536))
    for _ in range(abs(delta)):
        value = _ladder_up(value) if delta > 0 else _ladder_down(value)
    return max(low, min(high, value))


def stepped_setting(entry: Any) -> str | None:
    """ "units" for a dense layer, "filters" for a conv layer, else None."""
    return STEPPED.get(kind_of(entry)) if isinstance(entry, dict) else None


def step_layer(spec: Spec, index: int, delta: int) -> Spec:
    """Layer ``index`` with its units/filters ``delta`` steps more (or fewer)."""
    entry = layers_of(spec)[index]
    name = stepped_setting(entry)
    if name is None:
        return copy.deepcopy(spec)
    current = entry.get(name)
    current = current if isinstance(current, int) and not isinstance(current, bool) else 1
    return set_setting(spec, index, name, step_value(current, delta, name))
