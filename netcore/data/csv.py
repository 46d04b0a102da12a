"""Tables from CSV files: numeric feature columns and one label column.

Two readers build the same table. The fast one hands blocks of lines to NumPy's C parser
(``np.loadtxt``); the plain one walks the file row by row with the ``csv`` module. Whenever a
block does not parse cleanly (a bad or empty cell, a short row, a quoted field), the
whole file is read again by the plain reader, which either handles it or names the line and
column at fault. Neither pads cells to the longest one, so a single huge cell costs its own size.
"""

from __future__ import annotations

import csv
import os
import warnings
from array import array
from collections.abc import Callable
from dataclasses import dataclass
from itertools import islice
from pathlib import Path

import numpy as np

from netcore.data.dataset import DataError, Dataset
from netcore.data.split import train_test_split

TASKS = ("auto", "classification", "regression")
DELIMITERS = (",", ";", "\t")  # the first wins a tie
MAX_AUTO_CLASSES = 20  # integer labels with at most this many distinct values mean classes
BLOCK_ROWS = 2048  # lines per np.loadtxt call: bounds the text held at once, paces progress
PROGRESS_MIN_BYTES = 16 * 2**20  # smaller files load in well under a second: no progress calls
FLOAT32_MAX = float(np.finfo(np.float32).max)
MAX_MB_ENV = "NETCORE_MAX_CSV_MB"
DEFAULT_MAX_MB = 4096

Progress = Callable[[int, int | None, str], None]  # (bytes done, bytes in all, file name)


@dataclass
class Table:
    """The parsed columns of a CSV file.

    Shapes: x (N, D) float32 in the order of ``features``; label_numbers (N,) float64 (None
    when some label is not a number); label_texts (N,) strings (None when the fast reader
    saw only numbers), as Python strings; both None when there is no label column.
    """

    features: list[str]
    label: str | None
    x: np.ndarray
    label_numbers: np.ndarray | None
    label_texts: list[str] | np.ndarray | None


def _guess_delimiter(header: str) -> str:
    """The most frequent of , ; tab in the header line (comma on a tie): predictable, unlike
    csv.Sniffer, which gives up on blank lines."""
    return max(DELIMITERS, key=header.count)


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def _check_size(path: Path) -> int:
    try:
        size = path.stat().st_size
    except FileNotFoundError:
        raise DataError(f"{path}: file not found") from None
    except OSError as e:
        raise DataError(f"{path}: cannot read ({e.strerror or e})") from None
    limit_mb = float(os.environ.get(MAX_MB_ENV) or DEFAULT_MAX_MB)
    if size > limit_mb * 2**20:
        raise DataError(
            f"{path}: {size / 2**20:,.0f} MB is more than the {limit_mb:,.0f} MB limit for a CSV table "
            f"(set {MAX_MB_ENV} to raise it)"
        )
    return size


def _open(path: Path):
    try:
        return path.open(newline="", encoding="utf-8-sig")
    except FileNotFoundError:
        raise DataError(f"{path}: file not found") from None
    except OSError as e:
        raise DataError(f"{path}: cannot read ({e.strerror or e})") from None


def _read_header(path: Path, f) -> tuple[list[str], str, int]:
    """The first non-blank line as column names, the delimiter it implies, characters read."""
    consumed = 0
    for line in f:
        consumed += len(line)
        if line.strip():
            delimiter = _guess_delimiter(line)
            header = [cell.strip() for cell in next(csv.reader([line], delimiter=delimiter))]
            break
    else:
        raise DataError(f"{path}: empty file; expected a header row naming the columns")
    if all(_is_number(cell) for cell in header):
        raise DataError(f"{path}: the first row holds numbers; a header row naming the columns is required")
    if len(header) < 2:
        raise DataError(f"{path}: needs at least 2 columns (features and a label), found {len(header)}")
    seen = set()
    for name in header:
        if name in seen:
            raise DataError(f"{path}: column name {name!r} appears twice in the header")
        seen.add(name)
    return header, delimiter, consumed


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


def read_table(
    path: str | os.PathLike,
    label: str | int | None = None,
    features: list[str] | None = None,
    label_required: bool = True,
    progress: Progress | None = None,
) -> Table:
    """Read a CSV file with a header row into numeric features and a label column.

    ``features`` (names) picks and orders the feature columns, as a saved model expects them;
    by default every column except ``label`` (a name or index; default the last column) is one.
    With ``label_required=False`` a missing label column is fine (rows to predict).
    ``progress(done_bytes, total_bytes, file_name)`` is called after each block of lines of a
    file of at least ``PROGRESS_MIN_BYTES``.
    Raises DataError naming the line and column of the first bad cell.
    """
    path = Path(path)
    size = _check_size(path)
    with _open(path) as f:
        try:
            header, delimiter, consumed = _read_header(path, f)
        except UnicodeDecodeError:
            raise DataError(f"{path}: not a UTF-8 text file") from None
        if features is None:
            target = _label_index(path, header, label)
            feature_cols = [c for c in range(len(header)) if c != target]
        else:
            missing = [name for name in features if name not in header]
            if missing:
                raise DataError(
                    f"{path}: no column named {missing[0]!r}; the model reads columns "
                    f"{', '.join(features)} and the file has {', '.join(header)}"
                )
            feature_cols = [header.index(name) for name in features]
            target = header.index(label) if isinstance(label, str) and label in header else None
            if target is None and label_required:
                raise DataError(f"{path}: no label column {label!r}; columns are {', '.join(header)}")
        names = [header[c] for c in feature_cols]
        label_name = header[target] if target is not None else None
        layout = (len(header), delimiter, feature_cols, target)
        try:
            if size < PROGRESS_MIN_BYTES:
                progress = None
            fast = _read_fast(f, layout, (consumed, size, path.name, _count_lines(path)), progress)
        except UnicodeDecodeError:
            raise DataError(f"{path}: not a UTF-8 text file") from None
    if fast is None:
        with _open(path) as f:
            fast = _read_plain(path, f, header, layout)
    x, numbers, texts = fast
    return Table(names, label_name, x, numbers, texts)


def _count_lines(path: Path) -> int:
    """Newlines in the file plus one: an upper bound on its rows, to allocate the table once."""
    count = 1
    with path.open("rb") as f:
        while chunk := f.read(2**18):
            count += chunk.count(b"\n")
    return count


def _read_fast(f, layout, where: tuple[int, int, str, int], progress: Progress | None):
    """(x, label_numbers, label_texts) through np.loadtxt, or None if a block did not parse cleanly.

    The table is allocated once (rows bounded by the line count) and filled block by block.
    """
    ncols, delimiter, feature_cols, target = layout
    done, size, name, rows = where
    x = np.empty((rows, len(feature_cols)), np.float32)
    numbers = np.empty(rows if target is not None else 0)
    texts: np.ndarray | None = None  # object array, once the labels turn out to be text
    n = 0
    shared: dict[str, str] = {}  # one string object per distinct label
    opts = {"delimiter": delimiter, "quotechar": '"', "comments": None, "ndmin": 2}
    while lines := list(islice(f, BLOCK_ROWS)):
        done += sum(map(len, lines))
        parsed = _parse_block(lines, opts, layout, texts is not None or n == 0, shared)
        if parsed is None:
            return None
        xb, label = parsed
        k = len(xb)
        if k == 0:
            continue
        if label is not None and label.dtype == object:
            if texts is None:
                if n:  # numbers so far, text now: the plain reader sorts it out
                    return None
                texts = np.empty(rows, dtype=object)
            texts[n : n + k] = label
        elif label is not None:
            if texts is not None:
                return None
            numbers[n : n + k] = label
        x[n : n + k] = xb
        n += k
        if progress is not None:
            progress(min(done, size), size, name)
    if progress is not None and done < size:  # characters, not bytes: a BOM, non-ASCII text
        progress(size, size, name)
    x = x[:n]
    if target is None:
        return x, None, None
    if texts is not None:
        texts = texts[:n]
        return x, _numbers_or_none(texts), texts
    return x, numbers[:n], None


def _parse_block(lines: list[str], opts: dict, layout, text_labels: bool, shared: dict[str, str]):
    """(features float64, labels float64 / object / None) of one block, None if it is not clean."""
    ncols, delimiter, feature_cols, target = layout
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # "input contained no data": blank lines
        try:
            block = np.loadtxt(lines, dtype=np.float64, **opts)
        except ValueError:
            block = None
        if block is not None:
            if block.size == 0:
                return np.zeros((0, len(feature_cols))), None
            if block.shape[1] != ncols:
                return None
            d = len(feature_cols)
            contiguous = feature_cols == list(range(feature_cols[0], feature_cols[0] + d)) if d else True
            # a view when the features are side by side (label first or last), else a copy
            x = (
                block[:, feature_cols[0] : feature_cols[0] + d]
                if contiguous and d
                else block[:, feature_cols]
            )
            label = block[:, target] if target is not None else None
        elif target is None or not text_labels:
            return None
        else:  # a text label column: features and labels parsed apart
            joined = "".join(lines)
            if '"' in joined:
                return None  # a quoted delimiter would upset the field count below
            try:
                x = np.loadtxt(lines, dtype=np.float64, usecols=feature_cols, **opts)
                # object: Python strings, each its own size (a str array pads to the longest)
                label = np.loadtxt(lines, dtype=object, usecols=[target], **opts)[:, 0]
            except ValueError:
                return None
            # usecols skips the field count check: together the two parses need every
            # column, so only rows with too many fields could pass; the count finds them.
            if joined.count(delimiter) != (ncols - 1) * len(x) or len(label) != len(x):
                return None
            # one shared string per class: 8 bytes a row instead of a string each
            label = np.array(
                [shared.setdefault(t := text.strip(), t) for text in label.tolist()], dtype=object
            )
            if not all(label):
                return None  # an empty label: the plain reader names the line
    if x.size and not (np.isfinite(x).all() and -FLOAT32_MAX <= x.min() and x.max() <= FLOAT32_MAX):
        return None
    if label is not None and label.dtype.kind == "f" and not np.isfinite(label).all():
        return None
    return x, label


def _numbers_or_none(texts: list[str] | np.ndarray) -> np.ndarray | None:
    """The labels as numbers, or None if one is not a number (usually the first)."""
    try:
        return np.fromiter((float(t) for t in texts), dtype=np.float64, count=len(texts))
    except ValueError:
        return None


def _read_plain(path: Path, f, header: list[str], layout):
    """(x, label_numbers, label_texts) through the csv module; DataError at the first bad cell."""
    ncols, delimiter, feature_cols, target = layout
    values = array("d")
    texts: list[str] = []
    reader = csv.reader(f, delimiter=delimiter)
    seen_header = False
    try:
        for row in reader:
            if not any(cell.strip() for cell in row):
                continue
            if not seen_header:  # the header row itself
                seen_header = True
                continue
            line = reader.line_num
            if len(row) != ncols:
                raise DataError(f"{path}: line {line} has {len(row)} fields but the header has {ncols}")
            for c in feature_cols:
                values.append(_cell_value(path, line, header[c], row[c].strip()))
            if target is not None:
                text = row[target].strip()
                if not text:
                    raise DataError(
                        f"{path}: line {line}, column {header[target]!r} holds an empty value; "
                        "every row needs a label"
                    )
                texts.append(text)
    except csv.Error as e:
        raise DataError(f"{path}: line {reader.line_num}: unreadable CSV ({e})") from None
    except UnicodeDecodeError:
        raise DataError(f"{path}: not a UTF-8 text file") from None
    x = np.frombuffer(values, dtype=np.float64).reshape(-1, len(feature_cols)).astype(np.float32)
    if target is None:
        return x, None, None
    return x, _numbers_or_none(texts), texts


def _cell_value(path: Path, line: int, column: str, text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        value = None
    if value is None or not abs(value) <= FLOAT32_MAX:
        what = "an empty value" if text == "" else repr(text)
        raise DataError(
            f"{path}: line {line}, column {column!r} holds {what}; "
            "feature columns must hold finite numbers (at most 3.4e38 in size)"
        )
    return value


def _labels(path: Path, table: Table, task: str) -> tuple[str, np.ndarray, list[str]]:
    """(task, y, class_names) from the label column, resolving task "auto"."""
    numbers, texts = table.label_numbers, table.label_texts
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
        return task, y.astype(np.int64), [str(int(v)) for v in values]
    if texts is None:  # fractional numbers read by the fast reader
        values, y = np.unique(numbers, return_inverse=True)
        return task, y.astype(np.int64), [str(float(v)) for v in values]
    names = sorted(set(texts))  # sorted strings, no array padded to the longest label
    index = {name: k for k, name in enumerate(names)}
    return task, np.fromiter((index[t] for t in texts), np.int64, len(texts)), names


def column_stats(x: np.ndarray, rows: int = BLOCK_ROWS) -> dict[str, list[float]]:
    """Per-column mean and std (float64, std 1 for constant columns) in blocks of rows, so no
    float64 copy of ``x`` is made. Shapes: x (N, D) -> D means and D stds."""
    n = len(x)
    mean = x.sum(axis=0, dtype=np.float64) / n
    squares = np.zeros(x.shape[1])
    for start in range(0, n, rows):
        d = x[start : start + rows].astype(np.float64) - mean
        squares += np.einsum("ij,ij->j", d, d)
    std = np.sqrt(squares / n)
    std[std < 1e-12] = 1.0
    return {"mean": mean.tolist(), "std": std.tolist()}


def load_csv(
    path: str | os.PathLike,
    label: str | int | None = None,
    task: str = "auto",
    test_ratio: float = 0.3,
    seed: int = 0,
    standardize: bool = True,
    progress: Progress | None = None,
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
    table = read_table(path, label=label, progress=progress)
    if len(table.x) < 2:
        raise DataError(f"{path}: needs at least 2 data rows, found {len(table.x)}")
    task, y, class_names = _labels(path, table, task)
    x, table.x = table.x, None  # the split copies; keep one table in memory, not two
    x_train, y_train, x_test, y_test = train_test_split(x, y, test_ratio, np.random.default_rng(seed))
    del x
    preprocessing: dict = {"features": table.features, "label": table.label}
    if standardize:
        stats = column_stats(x_train)
        for part in (x_train, x_test):  # in place: (x - mean) / std, as split.apply_standardization
            part -= np.asarray(stats["mean"], np.float32)
            part /= np.asarray(stats["std"], np.float32)
        preprocessing.update(stats)
    return Dataset(path.stem, x_train, y_train, x_test, y_test, task, class_names, preprocessing)
