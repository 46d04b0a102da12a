"""CSV tables: label column, task detection, standardisation and the errors users will meet."""

from __future__ import annotations

import numpy as np
import pytest

from netcore.data.csv import load_csv
from netcore.data.dataset import DataError
from netcore.data.registry import load_dataset


def write(tmp_path, text: str, name="table.csv"):
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def table(n: int, label=lambda i: "ab"[i % 2]) -> str:
    """Rows "i, 2i, label(i)": the first feature names its row, so pairs can be traced."""
    return "x,double,kind\n" + "".join(f"{i},{2 * i},{label(i)}\n" for i in range(n))


def test_string_labels_make_classes(tmp_path):
    names = ["setosa", "virginica", "versicolor"]
    ds = load_csv(write(tmp_path, table(10, lambda i: names[i % 3])), standardize=False)
    assert ds.name == "table" and ds.task == "classification"
    assert ds.class_names == ["setosa", "versicolor", "virginica"], "sorted"
    assert (len(ds.x_train), len(ds.x_test)) == (7, 3)
    assert ds.x_train.dtype == np.float32 and ds.y_train.dtype == np.int64
    rows = np.concatenate([ds.x_train, ds.x_test])
    labels = np.concatenate([ds.y_train, ds.y_test])
    expected = [names[int(i) % 3] for i in rows[:, 0]]
    assert [ds.class_names[k] for k in labels] == expected, "features and labels stay paired"
    np.testing.assert_array_equal(rows[:, 1], 2 * rows[:, 0])
    assert ds.preprocessing == {"features": ["x", "double"], "label": "kind"}


def test_standardised_with_training_statistics(tmp_path):
    ds = load_csv(write(tmp_path, table(40)), test_ratio=0.25, seed=3)
    np.testing.assert_allclose(ds.x_train.mean(axis=0), 0.0, atol=1e-5)
    np.testing.assert_allclose(ds.x_train.std(axis=0), 1.0, atol=1e-5)
    mean, std = ds.preprocessing["mean"], ds.preprocessing["std"]
    assert isinstance(mean, list) and len(mean) == 2 and len(std) == 2
    raw = load_csv(write(tmp_path, table(40)), test_ratio=0.25, seed=3, standardize=False)
    np.testing.assert_allclose(raw.x_train.mean(axis=0), mean, rtol=1e-6)
    np.testing.assert_allclose((raw.x_test - mean) / std, ds.x_test, rtol=1e-5, atol=1e-6)


def test_label_column_by_name_or_index(tmp_path):
    path = write(tmp_path, "a,species,b\n1,cat,2\n3,dog,4\n5,cat,6\n")
    for label in ("species", 1, -2):
        ds = load_csv(path, label=label, standardize=False, test_ratio=0.34)
        assert ds.class_names == ["cat", "dog"] and ds.preprocessing["features"] == ["a", "b"]
        rows = np.concatenate([ds.x_train, ds.x_test])
        assert sorted(rows[:, 0].tolist()) == [1, 3, 5] and np.all(rows[:, 1] == rows[:, 0] + 1)


def test_small_integer_labels_are_classes_sorted_numerically(tmp_path):
    ds = load_csv(write(tmp_path, table(12, lambda i: [2, 10, 2.0, 9][i % 4])))
    assert ds.task == "classification"
    assert ds.class_names == ["2", "9", "10"], "numeric order; 2 and 2.0 are one class"


def test_fractional_or_many_valued_labels_mean_regression(tmp_path):
    ds = load_csv(write(tmp_path, table(10, lambda i: i * 0.5)), standardize=False)
    assert ds.task == "regression" and ds.class_names == []
    assert ds.y_train.dtype == np.float32 and ds.y_train.shape == (7,)
    np.testing.assert_array_equal(ds.y_train, ds.x_train[:, 0] * 0.5)
    assert load_csv(write(tmp_path, table(30, lambda i: i))).task == "regression", "30 distinct integers"
    assert load_csv(write(tmp_path, table(30, lambda i: i % 20))).task == "classification"


def test_explicit_task(tmp_path):
    path = write(tmp_path, table(30, lambda i: i))
    assert load_csv(path, task="classification").num_classes == 30
    with pytest.raises(DataError, match="regression needs a numeric label"):
        load_csv(write(tmp_path, table(4)), task="regression")
    with pytest.raises(DataError, match="task must be one of"):
        load_csv(path, task="clustering")


def test_semicolons_bom_and_blank_lines(tmp_path):
    path = tmp_path / "excel.csv"
    path.write_bytes("\ufeffa;b;y\r\n1;2;no\r\n\r\n3;4;yes\r\n5;6;no\r\n".encode())
    ds = load_csv(path, standardize=False, test_ratio=0.34)
    assert ds.preprocessing["features"] == ["a", "b"] and ds.class_names == ["no", "yes"]
    assert len(ds.x_train) + len(ds.x_test) == 3


def error(tmp_path, text: str, **kwargs) -> str:
    path = write(tmp_path, text)
    with pytest.raises(DataError) as info:
        load_csv(path, **kwargs)
    assert str(path) in str(info.value), "the message names the file"
    return str(info.value)


def test_missing_file(tmp_path):
    with pytest.raises(DataError, match="nope.csv: file not found"):
        load_csv(tmp_path / "nope.csv")


@pytest.mark.parametrize(
    "text, match",
    [
        ("", "empty file"),
        ("\n\n", "empty file"),
        ("1,2,3\n4,5,6\n", "header row"),
        ("a,b,y\n1,2,x\n3,4\n", "line 3 has 2 fields but the header has 3"),
        ("a,b,y\n1,2,x\n3,oops,z\n", "line 3, column 'b' holds 'oops'"),
        ("a,b,y\n1,2,x\n,4,z\n", "line 3, column 'a' holds an empty value"),
        ("a,b,y\n1,2,x\n3,inf,z\n", "line 3, column 'b' holds 'inf'"),
        ("a,b,y\n1,2,x\n", "at least 2 data rows, found 1"),
        ("a,b,a\n1,2,x\n3,4,y\n", "'a' appears twice"),
        ("y\n1\n2\n", "at least 2 columns"),
    ],
)
def test_errors_say_what_and_where(tmp_path, text, match):
    assert match in error(tmp_path, text)


def test_unknown_label_column_lists_the_columns(tmp_path):
    message = error(tmp_path, table(4), label="target")
    assert "no column named 'target'; columns are x, double, kind" in message


def test_registry_csv(tmp_path):
    path = write(tmp_path, table(20))
    ds = load_dataset(f"csv:{path}", label="kind", seed=5, test_ratio=0.5, noise=None)
    assert ds.class_names == ["a", "b"] and len(ds.x_test) == 10
    with pytest.raises(DataError, match="option noise does not apply"):
        load_dataset(f"csv:{path}", noise=0.1)


# -- values, budgets and the two readers (issues 10 and 15) ----------------------------------


@pytest.mark.parametrize(
    "text, match",
    [
        ("a,b,y\n1,2,x\n3,4,\n", "line 3, column 'y' holds an empty value"),
        ("a,b,y\n1,2,1\n3,4,\n", "line 3, column 'y' holds an empty value"),
        ("a,b,y\n1,2,x\n3,1e39,z\n", "line 3, column 'b' holds '1e39'"),
        ("a,b,y\n1,2,x\n3,-4e38,z\n", "line 3, column 'b' holds '-4e38'"),
        ("a,b,y\n1,2,x\n3,nan,z\n", "line 3, column 'b' holds 'nan'"),
        ("a,b,y\n1,2,x\n3,4,z,w\n", "line 3 has 4 fields but the header has 3"),
        ("a,b,y\n1,2,1\n\n3,4,5,6\n", "line 4 has 4 fields but the header has 3"),
    ],
)
def test_bad_values_name_the_line_and_column(tmp_path, text, match):
    assert match in error(tmp_path, text)


@pytest.mark.parametrize("rows, length", [(300, 100_000), (4000, 2500)])
def test_a_huge_cell_costs_its_own_size_not_the_tables(tmp_path, rows, length):
    import tracemalloc

    rows = "".join(f"{i},{i % 3},{'c' * length if i == 5 else 'ab'[i % 2]}\n" for i in range(rows))
    path = write(tmp_path, "x,y,label\n" + rows)
    tracemalloc.start()
    ds = load_csv(path, standardize=False)
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    assert ds.num_classes == 3
    assert peak < 10_000_000, f"peak {peak:,} bytes: cells were padded to the longest"


def test_a_file_beyond_the_size_limit_is_refused_before_reading(tmp_path, monkeypatch):
    monkeypatch.setenv("NETCORE_MAX_CSV_MB", "0.001")
    message = error(tmp_path, table(200))
    assert "NETCORE_MAX_CSV_MB" in message and "limit" in message


def random_table(rng, n: int, labels: str) -> str:
    x = rng.standard_normal((n, 3)) * [1, 1e3, 1e-3]
    kinds = {
        "text": lambda i: ["cat", "dog", "emu"][i % 3],
        "int": lambda i: str(i % 4),
        "float": lambda i: f"{x[i, 0] * 2:.3f}",
        "quoted": lambda i: f'"{["a,b", "c"][i % 2]}"',
    }
    label = kinds[labels]
    return "f1,f2,f3,y\n" + "".join(
        f"{x[i, 0]:.6g}, {x[i, 1]:.4e},{float(x[i, 2])!r},{label(i)}\n" + ("\n" if i % 97 == 0 else "")
        for i in range(n)
    )


@pytest.mark.parametrize("labels", ["text", "int", "float", "quoted"])
def test_fast_and_plain_readers_agree(tmp_path, monkeypatch, labels):
    import netcore.data.csv as csv_module

    path = write(tmp_path, random_table(np.random.default_rng(1), 500, labels))
    monkeypatch.setattr(csv_module, "BLOCK_ROWS", 64)  # several blocks
    fast = csv_module.read_table(path)
    monkeypatch.setattr(csv_module, "_read_fast", lambda *args: None)
    plain = csv_module.read_table(path)
    np.testing.assert_array_equal(fast.x, plain.x)
    assert fast.x.shape == (500, 3) and fast.features == plain.features == ["f1", "f2", "f3"]
    if plain.label_numbers is None:
        assert fast.label_numbers is None
        assert list(fast.label_texts) == list(plain.label_texts)
    else:
        np.testing.assert_array_equal(fast.label_numbers, plain.label_numbers)
    monkeypatch.undo()
    a, b = load_csv(path, seed=2), load_csv(path, seed=2)
    np.testing.assert_array_equal(a.x_train, b.x_train)


def test_progress_reports_each_block_and_ends_at_the_file_size(tmp_path, monkeypatch):
    import netcore.data.csv as csv_module

    path = write(tmp_path, table(1000))
    monkeypatch.setattr(csv_module, "BLOCK_ROWS", 100)
    monkeypatch.setattr(csv_module, "PROGRESS_MIN_BYTES", 0)
    calls = []
    load_csv(path, progress=lambda *args: calls.append(args))
    assert calls, "reported for a large file"
    monkeypatch.setattr(csv_module, "PROGRESS_MIN_BYTES", 10**9)
    calls = []
    load_csv(path, progress=lambda *args: calls.append(args))
    assert not calls, "a small file loads without progress"
    monkeypatch.setattr(csv_module, "PROGRESS_MIN_BYTES", 0)
    calls = []
    load_csv(path, progress=lambda done, total, name: calls.append((done, total, name)))
    assert len(calls) == 10 and calls[-1] == (path.stat().st_size, path.stat().st_size, "table.csv")
    assert [c[0] for c in calls] == sorted(c[0] for c in calls)


def test_rows_for_a_model_by_column_name(tmp_path):
    from netcore.data.csv import read_table

    path = write(tmp_path, "id,b,a\nr1,2,1\nr2,4,3\n")
    rows = read_table(path, features=["a", "b"], label="kind", label_required=False)
    np.testing.assert_array_equal(rows.x, [[1, 2], [3, 4]])
    assert rows.label is None
    with pytest.raises(DataError, match="no column named 'c'; the model reads columns a, b, c"):
        read_table(path, features=["a", "b", "c"], label_required=False)


def test_the_csv_speed_script_times_both_readers():
    """scripts/csv_speed.py, which issue 15's loading figures come from, loads each table with
    both readers and reports their times and memory."""
    import re

    from tests.conftest import run_script

    stdout = run_script("csv_speed.py", "--rows", "200,2000", "--features", "3", "--repeats", "1")
    rows = re.findall(r"^\s*([\d,]+)\s+([\d.]+)\s+([\d.]+)\s+([\d.]+)\s+([\d.]+)\s+([\d.]+)$", stdout, re.M)
    assert [r[0] for r in rows] == ["200", "2,000"], stdout
    assert all(float(r[1]) > 0 and float(r[2]) > 0 for r in rows), stdout
