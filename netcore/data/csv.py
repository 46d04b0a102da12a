"""Tables from CSV files: numeric feature columns and one label column."""

from __future__ import annotations

import csv
import os
from pathlib import Path

import numpy as np

from netcore.data.dataset import DataError, Dataset
from netcore.data.split import standardize as standardize_features
from netcore.data.split import train_test_split

TASKS = ("auto", "classification", "regression")
DELIMITERS = (",", ";", "\t")  # the first wins a tie
MAX_AUTO_CLASSES = 20  # integer labels with at most this many distinct values mean classes


def _guess_delimiter(sample: str) -> str:
    """The most frequent of , ; tab in the header line (comma on a tie): predictable, unlike
    csv.Sniffer, which gives up on blank lines."""
    header = next((line for line in sample.splitlines() if line.strip()), "")
    return max(DELIMITERS, key=header.count)


def _read_rows(path: Path) -> tuple[list[str], list[list[str]], list[int]]:
    """Header, data rows (stripped cells) and the line number of each row; blank lines skipped."""
    try:
        with path.open(newline="", encoding="utf-8-sig") as f:
            delimiter = _guess_delimiter(f.read(8192))
            f.seek(0)
            reader = csv.reader(f, delimiter=delimiter)
            rows, lines = [], []
            for row in reader:
                if any(cell.strip() for cell in row):
                    rows.append([cell.strip() for cell in row])
                    lines.append(reader.line_num)
    except FileNotFoundError:
        raise DataError(f"{path}: file not found") from None
    except UnicodeDecodeError:
        raise DataError(f"{path}: not a UTF-8 text file") from None
    except csv.Error as e:
        raise DataError(f"{path}: unreadable CSV ({e})") from None
    except OSError as e:
        raise DataError(f"{path}: cannot read ({e.strerror or e})") from None
    if not rows:
        raise DataError(f"{path}: empty file; expected a header row naming the columns")
    return rows[0], rows[1:], lines[1:]


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def _check_header(path: Path, header: list[str]) -> None:
    if all(_is_number(cell) for cell in header):
        raise DataError(f"{path}: the first row holds numbers; a header row naming the columns is required")
    if len(header) < 2:
        raise DataError(f"{path}: needs at least 2 columns (features and a label), found {len(header)}")
    seen = set()
    for name in header:
        if name in seen:
            raise DataError(f"{path}: column name {name!r} appears twice in the header")
        seen.add(name)


def _label_index(path: Path, header: list[str], label: str | int | None) -> int:
    if label is None:
        return len(header) - 1
    if isinstance(label, int) and not isinstance(label, bool):
        if not -len(header) <= label < len(header):
            raise DataError(f"{path}: label column index {label} is out of range for {len(header)} columns")
        return label % len(header)
    if label not in header:
        raise DataError(f"{path}: no column named {label!r}; columns are {', '.join(header)}")
    return header.index(label)


def _parse_features(path: Path, cells: np.ndarray, names: list[str], lines: list[int]) -> np.ndarray:
    """float64 (N, D) from the string cells; errors name the line and column of the first bad cell."""
    try:
        values = cells.astype(np.float64)
    except ValueError:
        values = None
    bad = None
    if values is None:
        # Only on the error path: find the first cell that does not parse.
        bad = next((r, c) for r, c in np.ndindex(cells.shape) if not _is_number(cells[r, c]))
    elif not np.isfinite(values).all():
        bad = tuple(np.argwhere(~np.isfinite(values))[0])
    if bad is not None:
        r, c = bad
        value = str(cells[r, c])
        what = "an empty value" if value == "" else f"{value!r}"
        raise DataError(
            f"{path}: line {lines[r]}, column {names[c]!r} holds {what}; "
            "feature columns must hold finite numbers"
        )
    return values


def _labels(path: Path, texts: np.ndarray, task: str) -> tuple[str, np.ndarray, list[str]]:
    """(task, y, class_names) from the label strings, resolving task "auto"."""
    try:
        numbers = texts.astype(np.float64)
    except ValueError:
        numbers = None
    if numbers is not None and not np.isfinite(numbers).all():
        raise DataError(f"{path}: the label column holds a non-finite value")
    integral = numbers is not None and bool(np.all(numbers == np.round(numbers)))
    if task == "auto":
        few = numbers is not None and len(np.unique(numbers)) <= MAX_AUTO_CLASSES
        task = "classification" if numbers is None or (integral and few) else "regression"
    if task == "regression":
        if numbers is None:
            raise DataError(f"{path}: regression needs a numeric label column")
        return task, numbers.astype(np.float32), []
    if integral:
        # Numeric classes: "2" and "2.0" are one class, and 10 sorts after 9.
        values, y = np.unique(numbers, return_inverse=True)
        names = [str(int(v)) for v in values]
    else:
        values, y = np.unique(texts, return_inverse=True)
        names = [str(v) for v in values]
    return task, y.astype(np.int64), names


def load_csv(
    path: str | os.PathLike,
    label: str | int | None = None,
    task: str = "auto",
    test_ratio: float = 0.3,
    seed: int = 0,
    standardize: bool = True,
) -> Dataset:
    """Load a CSV table with a header row into a shuffled train/test ``Dataset``.

    Every column except ``label`` (a name or index; default the last column) is a numeric
    feature. ``task="auto"`` picks classification when the label is non-numeric or integral
    with at most 20 distinct values, regression otherwise. With ``standardize`` the features
    are scaled by the training part's mean and std, recorded in ``preprocessing``.

    Shapes: x_* (N, D) float32; y_* (N,) int64 class indices or float32 targets.
    """
    path = Path(path)
    if task not in TASKS:
        raise DataError(f"task must be one of {', '.join(TASKS)}, got {task!r}")
    header, rows, lines = _read_rows(path)
    _check_header(path, header)
    for row, line in zip(rows, lines, strict=True):
        if len(row) != len(header):
            raise DataError(f"{path}: line {line} has {len(row)} fields but the header has {len(header)}")
    if len(rows) < 2:
        raise DataError(f"{path}: needs at least 2 data rows, found {len(rows)}")
    target = _label_index(path, header, label)
    cells = np.array(rows, dtype=str)
    feature_cols = [c for c in range(len(header)) if c != target]
    feature_names = [header[c] for c in feature_cols]
    x = _parse_features(path, cells[:, feature_cols], feature_names, lines)
    task, y, class_names = _labels(path, cells[:, target], task)

    x_train, y_train, x_test, y_test = train_test_split(x, y, test_ratio, np.random.default_rng(seed))
    preprocessing: dict = {"features": feature_names, "label": header[target]}
    if standardize:
        (x_train, x_test), stats = standardize_features(x_train, x_test)
        preprocessing.update(stats)
    else:
        x_train, x_test = x_train.astype(np.float32), x_test.astype(np.float32)
    return Dataset(path.stem, x_train, y_train, x_test, y_test, task, class_names, preprocessing)
