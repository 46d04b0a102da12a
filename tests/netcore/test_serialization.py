import io
import os
import pickle
import zipfile

import numpy as np
import pytest

from netcore.network import Network
from netcore.serialization import ModelFileError, SavedModel, load_model, save_model

SPEC = {
    "input_shape": [6],
    "layers": [
        {"type": "dense", "units": 8, "activation": "tanh"},
        {"type": "dropout", "rate": 0.2},
        {"type": "dense", "units": 3},
    ],
    "loss": "softmax_cross_entropy",
}


@pytest.fixture
def saved(tmp_path):
    net = Network(SPEC, seed=3)
    model = SavedModel(
        net,
        history=[{"epoch": 1, "loss": 0.5}],
        class_names=["a", "b", "c"],
        settings={"lr": 0.01},
        preprocessing={"scale": 1.0},
    )
    path = tmp_path / "m.npz"
    save_model(model, path)
    return net, path


def test_round_trip_gives_identical_predictions(saved):
    net, path = saved
    x = np.random.default_rng(0).standard_normal((20, 6)).astype(np.float32)
    loaded = load_model(path)
    np.testing.assert_array_equal(loaded.network.predict(x), net.predict(x))
    assert loaded.network.spec == net.spec
    assert loaded.history == [{"epoch": 1, "loss": 0.5}]
    assert loaded.class_names == ["a", "b", "c"]
    assert loaded.settings == {"lr": 0.01}


def test_truncated_file_is_refused(saved):
    _, path = saved
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    with pytest.raises(ModelFileError, match="damaged|not a netcore"):
        load_model(path)


def test_bit_flipped_file_is_refused(saved):
    _, path = saved
    data = bytearray(path.read_bytes())
    data[len(data) // 3] ^= 0x10  # inside the weights
    path.write_bytes(bytes(data))
    with pytest.raises(ModelFileError):
        load_model(path)


def test_pickle_carrying_file_is_refused_without_running_it(tmp_path):
    marker = tmp_path / "ran"

    class Evil:
        def __reduce__(self):
            return (os.system, (f"touch {marker}",))

    path = tmp_path / "evil.npz"
    buffer = io.BytesIO()
    np.save(buffer, np.array([Evil()], dtype=object), allow_pickle=True)
    with zipfile.ZipFile(path, "w") as zf:
        zf.writestr("__header__.npy", buffer.getvalue())
    with pytest.raises(ModelFileError, match="pickle"):
        load_model(path)
    assert not marker.exists()


def test_plain_pickle_and_foreign_files_are_refused(tmp_path):
    pkl = tmp_path / "model.npz"
    pkl.write_bytes(pickle.dumps({"W": [1, 2]}))
    with pytest.raises(ModelFileError):
        load_model(pkl)
    foreign = tmp_path / "foreign.npz"
    np.savez(foreign, W=np.ones(3))
    with pytest.raises(ModelFileError, match="not a netcore model"):
        load_model(foreign)
    with pytest.raises(ModelFileError, match="no such"):
        load_model(tmp_path / "missing.npz")


def test_newer_format_is_refused_with_upgrade_hint(saved, tmp_path):
    import json

    _, path = saved
    with np.load(path) as npz:
        arrays = {k: npz[k] for k in npz.files}
    header = json.loads(arrays["__header__"].tobytes())
    header["version"] = 99
    arrays["__header__"] = np.frombuffer(json.dumps(header).encode(), np.uint8)
    newer = tmp_path / "newer.npz"
    np.savez(newer, **arrays)
    with pytest.raises(ModelFileError, match="newer netcore"):
        load_model(newer)


def test_weights_that_do_not_fit_the_design_are_refused(saved, tmp_path):
    _, path = saved
    with np.load(path) as npz:
        arrays = {k: npz[k] for k in npz.files}
    arrays["0.W"] = np.ones((5, 8), np.float32)
    bad = tmp_path / "bad.npz"
    np.savez(bad, **arrays)
    with pytest.raises(ModelFileError, match="0.W"):
        load_model(bad)


def test_failed_save_leaves_the_old_file_intact(saved, monkeypatch):
    net, path = saved
    before = path.read_bytes()

    def disk_full(fd):  # the data is written but cannot reach the disk
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "fsync", disk_full)
    with pytest.raises(ModelFileError, match="No space left"):
        save_model(SavedModel(Network(SPEC, seed=9)), path)
    monkeypatch.undo()
    assert path.read_bytes() == before
    assert [p.name for p in path.parent.iterdir()] == [path.name]  # no temporary left behind


def test_saved_files_get_ordinary_permissions(saved):
    import os

    _, path = saved
    umask = os.umask(0)
    os.umask(umask)
    assert path.stat().st_mode & 0o777 == 0o666 & ~umask


def test_cnn_with_batchnorm_round_trips_through_a_file(tmp_path):
    spec = {
        "input_shape": [1, 8, 8],
        "layers": [
            {"type": "conv2d", "filters": 4, "kernel_size": 3, "padding": "same", "activation": "relu"},
            {"type": "batchnorm"},
            {"type": "maxpool2d", "pool_size": 2},
            {"type": "flatten"},
            {"type": "dense", "units": 3},
        ],
    }
    net = Network(spec, seed=1)
    rng = np.random.default_rng(2)
    for _ in range(3):  # move the running statistics away from their start
        net.forward(rng.standard_normal((6, 1, 8, 8)).astype(np.float32), training=True)
    path = tmp_path / "cnn.npz"
    save_model(SavedModel(net), path)
    x = rng.standard_normal((5, 1, 8, 8)).astype(np.float32)
    np.testing.assert_array_equal(load_model(path).network.predict(x), net.predict(x))


# -- bounded reading and checked values (issue 10) -------------------------------------------


def _arrays(path):
    with zipfile.ZipFile(path) as zf:
        return {name: zf.read(name) for name in zf.namelist()}


def _header(path):
    import json

    with np.load(path) as npz:
        return json.loads(npz["__header__"].tobytes())


def _write(path, members: dict[str, bytes]) -> None:
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, data in members.items():
            zf.writestr(name, data)


def _npy(array) -> bytes:
    buffer = io.BytesIO()
    np.save(buffer, array)
    return buffer.getvalue()


def _with_header(saved_path, tmp_path, _edit=lambda text: text, **changes):
    import json

    header = _header(saved_path)
    header.update(changes)
    members = _arrays(saved_path)
    text = _edit(json.dumps(header))
    members["__header__.npy"] = _npy(np.frombuffer(text.encode(), np.uint8))
    path = tmp_path / "changed.npz"
    _write(path, members)
    return path


def test_an_inflating_member_is_refused_before_it_is_inflated(saved, tmp_path):
    import tracemalloc

    _, path = saved
    members = _arrays(path)
    members["0.W.npy"] = _npy(np.zeros((6, 8 * 200_000), np.float32))  # 38 MB of zeros: ~40 kB zipped
    bomb = tmp_path / "bomb.npz"
    _write(bomb, members)
    assert bomb.stat().st_size < 1_000_000
    tracemalloc.start()
    with pytest.raises(ModelFileError, match=r"array '0.W' declares [\d,]+ bytes, the design needs 192"):
        load_model(bomb)
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    assert peak < 5_000_000, f"peak {peak:,} bytes: the member was inflated"


def test_a_design_beyond_the_size_limit_is_refused_before_allocating(saved, tmp_path):
    huge = {"input_shape": [100_000], "layers": [{"type": "dense", "units": 1_000_000}]}
    path = _with_header(saved[1], tmp_path, spec=huge)
    with pytest.raises(ModelFileError, match="NETCORE_MAX_MODEL_MB"):
        load_model(path)


def test_a_file_that_is_not_a_zip_is_not_a_netcore_model(tmp_path):
    for data in (b"hello, world\n" * 10, bytes(range(256)) * 4, b"\x93NUMPY junk"):
        path = tmp_path / "x.npz"
        path.write_bytes(data)
        with pytest.raises(ModelFileError, match="not a netcore model file") as info:
            load_model(path)
        assert "pickle" not in str(info.value)


@pytest.mark.parametrize(
    "changes, field",
    [
        ({"dtype": "int8"}, "dtype"),
        ({"dtype": "object"}, "dtype"),
        ({"history": "abc"}, "history"),
        ({"history": [1, 2]}, "history"),
        ({"settings": [["lr", 1]]}, "settings"),
        ({"class_names": ["a", "b"]}, "class_names"),
        ({"class_names": [1, 2, 3]}, "class_names"),
        ({"preprocessing": 5}, "preprocessing"),
        ({"spec": {**SPEC, "task": "clustering"}}, "task"),
    ],
)
def test_wrong_header_values_get_one_line_naming_the_field(saved, tmp_path, changes, field):
    path = _with_header(saved[1], tmp_path, **changes)
    with pytest.raises(ModelFileError) as info:
        load_model(path)
    assert field in str(info.value) and "\n" not in str(info.value)


def test_non_finite_numbers_in_the_header_are_refused(saved, tmp_path):
    layers = [{"type": "dense", "units": 8}, {"type": "batchnorm", "eps": 0.5}, SPEC["layers"][2]]
    spec = {**SPEC, "layers": layers}
    path = _with_header(saved[1], tmp_path, lambda text: text.replace("0.5", "1e999"), spec=spec)
    with pytest.raises(ModelFileError, match=r"spec.layers\[1\].eps is not a finite number"):
        load_model(path)
    path = _with_header(saved[1], tmp_path, lambda text: text.replace("0.5", "NaN"), spec=spec)
    with pytest.raises(ModelFileError, match="not valid JSON"):
        load_model(path)


def test_saved_headers_are_always_valid_json(tmp_path):
    import json

    net = Network(SPEC)
    path = tmp_path / "m.npz"
    save_model(SavedModel(net, history=[{"epoch": 1, "loss": float("nan"), "val_loss": float("inf")}]), path)

    def strict(name):
        raise ValueError(name)

    with np.load(path) as npz:
        header = json.loads(npz["__header__"].tobytes(), parse_constant=strict)
    assert header["history"] == [{"epoch": 1, "loss": None, "val_loss": None}]
    assert load_model(path).history == header["history"]


def test_a_weight_member_with_the_wrong_dtype_is_refused(saved, tmp_path):
    _, path = saved
    members = _arrays(path)
    members["0.W.npy"] = _npy(np.ones((6, 8), np.int64))
    bad = tmp_path / "bad.npz"
    _write(bad, members)
    with pytest.raises(ModelFileError, match="array '0.W' is int64"):
        load_model(bad)


def test_stale_part_files_of_the_same_name_are_cleaned_up(saved):
    _, path = saved
    stale = path.parent / f".{path.name}.abc123.part"
    fresh = path.parent / f".{path.name}.def456.part"  # a save still in progress: left alone
    other = path.parent / ".other.npz.abc123.part"
    for p in (stale, fresh, other):
        p.write_bytes(b"half")
    os.utime(stale, (0, 0))
    os.utime(other, (0, 0))
    save_model(SavedModel(Network(SPEC)), path)
    assert not stale.exists() and fresh.exists() and other.exists()
