"""Every reader yields the same matrix, in any block size, and rejects bad files clearly."""

import io

import h5py
import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from l2h_cli import InputError, UsageError, build_hierarchy, open_logits
from l2h_cli.engine import kernels
from l2h_cli.errors import L2HWarning
from l2h_cli.readers.rawio import RawRows, RowReader
from l2h_cli.readers import ArrayReader
from l2h_cli.engine.store import SOURCES
from l2h_cli.readers.npy import NpyReader
from helpers import run_l2h, write_all_layouts


@pytest.fixture
def z():
    return np.random.default_rng(5).normal(size=(53, 6)).astype(np.float32)


@pytest.mark.parametrize("layout", ["npy", "h5", "h5_flat", "pq_fixed", "pq_list", "pq_cols"])
@pytest.mark.parametrize("rows", [1, 5, 7, 100])
def test_every_layout_reads_back_the_matrix(z, tmp_path, layout, rows):
    path = write_all_layouts(z, tmp_path)[layout]
    with open_logits(path) as reader:
        assert reader.shape == z.shape
        blocks = list(reader.blocks(rows))
    assert np.array_equal(np.concatenate(blocks), z)
    assert all(len(b) <= max(rows, 7) for b in blocks)


def test_h5_blocks_are_aligned_to_chunks(z, tmp_path):
    path = write_all_layouts(z, tmp_path)["h5"]
    with open_logits(path) as reader:
        assert reader.chunks[0] == 7
        assert reader.default_block_rows() % 7 == 0
        sizes = [len(b) for b in reader.blocks(10)]
    assert sizes[:-1] == [7] * (len(sizes) - 1)


def test_same_tree_from_every_layout(z, tmp_path):
    paths = write_all_layouts(z, tmp_path)
    trees = {name: build_hierarchy(p, chunk_rows=4).children for name, p in paths.items()}
    assert len({tuple(t) for t in trees.values()}) == 1, trees


@pytest.mark.parametrize("backend", ["numpy", "numba"])
def test_plain_rows_are_read_back_by_position(z, tmp_path, monkeypatch, backend):
    if backend == "numba" and kernels._compiled is None:
        pytest.skip("numba is not installed")
    monkeypatch.setattr(kernels, "BACKEND", backend)
    paths = write_all_layouts(z, tmp_path)
    # A run longer than the compiled kernel's read buffer, gaps, and steps back.
    rows = np.r_[0:20, 30, 52, 4, 5]
    keep = np.isin(np.arange(z.shape[1]), [0, 2, 3, 5])
    for layout in ("npy", "h5_flat"):
        with open_logits(paths[layout]) as reader:
            raw = reader.raw_rows()
        assert raw is not None, layout
        source = RowReader.open(raw)
        try:
            assert np.array_equal(source.read(rows), z[rows])
            # Same rows in the same order: the same picks, to the last bit.
            from_file = kernels.restricted_pick(source, rows, keep)
            in_memory = kernels.restricted_pick(z, rows, keep)
            assert all(np.array_equal(a, b) for a, b in zip(from_file, in_memory))
            for bad in (lambda: source.read(np.array([len(z)])),
                        lambda: kernels.restricted_pick(source, np.array([len(z)]), keep)):
                with pytest.raises(InputError, match="cannot read rows back"):
                    bad()
        finally:
            source.close()


@pytest.mark.parametrize("name", SOURCES)
def test_every_row_source_gives_back_the_rows_grouped_by_cluster(z, tmp_path, name):
    path = write_all_layouts(z, tmp_path)["npy"]
    labels = np.argmax(z, axis=1)
    with open_logits(path) as reader:
        raw = reader.raw_rows()
    # Runs of 4 rows, so the spill file holds several cluster-sorted runs.
    extra = {"memory": {}, "source": {"source": raw},
             "spill": {"run_bytes": 4 * z[0].nbytes}}[name]
    with SOURCES[name](*z.shape, z.dtype, **extra) as store:
        for start in range(0, len(z), 7):
            store.add(z[start:start + 7], labels[start:start + 7])
        with pytest.raises(RuntimeError):
            store.points([0])  # not before finish()
        store.finish()
        points = np.concatenate(list(store.blocks([3, 0, 5], max_rows=5)))
        expected = np.concatenate([np.flatnonzero(labels == c) for c in (3, 0, 5)])
        assert np.array_equal(points, expected)
        assert np.array_equal(store.read(points), z[points])


def test_only_plain_layouts_are_read_back(z, tmp_path):
    paths = write_all_layouts(z, tmp_path)
    np.save(tmp_path / "be.npy", z.astype(">f4"))
    np.save(tmp_path / "f.npy", np.asfortranarray(z))
    paths.update(be=str(tmp_path / "be.npy"), fortran=str(tmp_path / "f.npy"))
    for layout in ("h5", "pq_fixed", "pq_list", "pq_cols", "be", "fortran"):
        with open_logits(paths[layout]) as reader:
            assert reader.raw_rows() is None, layout


@pytest.mark.parametrize("reread", [None, True, False])
def test_same_tree_from_every_layout_beyond_the_memory_budget(z, tmp_path, reread):
    paths = write_all_layouts(z, tmp_path)
    expected = build_hierarchy(z).children
    for name, p in paths.items():
        assert build_hierarchy(p, chunk_rows=4, memory=1, reread=reread).children == expected, name


def test_reread_of_a_file_without_plain_rows_warns_and_spills(z, tmp_path):
    path = write_all_layouts(z, tmp_path)["pq_fixed"]
    with pytest.warns(L2HWarning, match="cannot be read back by position"):
        tree = build_hierarchy(path, memory=1, reread=True)
    assert tree.children == build_hierarchy(z).children


def test_input_that_changes_during_the_build_is_a_clean_error(z, tmp_path):
    """Rows read back by position from a file that lost rows after the first pass."""
    short = tmp_path / "short.npy"
    np.save(short, z[:10])
    with open_logits(str(short)) as reader:
        offset = reader.raw_rows().offset

    class Shrunk(ArrayReader):
        def raw_rows(self) -> RawRows:
            return RawRows(str(short), offset, self.dtype, self.n_cols)

    with pytest.raises(InputError, match="cannot read rows back"):
        build_hierarchy(Shrunk(z), memory=1, reread=True)


def test_stdin_stream(z, monkeypatch):
    buf = io.BytesIO()
    np.save(buf, z)
    buf.seek(0)
    monkeypatch.setattr("sys.stdin", io.TextIOWrapper(buf))
    reader = NpyReader("-")
    assert np.array_equal(np.concatenate(list(reader.blocks(8))), z)


def test_big_endian_and_fortran_npy(z, tmp_path):
    np.save(tmp_path / "be.npy", z.astype(">f4"))
    np.save(tmp_path / "f.npy", np.asfortranarray(z))
    for name in ("be.npy", "f.npy"):
        with open_logits(str(tmp_path / name)) as r:
            assert np.array_equal(np.concatenate(list(r.blocks(10))), z)


# ---- bad input ---------------------------------------------------------------------------
def _err(path, **kw):
    with pytest.raises(InputError) as info:
        build_hierarchy(path, **kw)
    msg = str(info.value)
    assert "\n" not in msg
    return msg


@pytest.mark.parametrize("value,word", [(np.nan, "nan"), (np.inf, "inf")])
def test_nan_and_pos_inf_name_the_first_bad_row(z, tmp_path, value, word):
    z = z.copy()
    z[17, 2] = value
    z[30, 1] = value
    np.save(tmp_path / "bad.npy", z)
    msg = _err(str(tmp_path / "bad.npy"), chunk_rows=5)
    assert "bad.npy" in msg and "row 17" in msg and word in msg


@pytest.mark.parametrize("shape", [(5,), (2, 3, 4)])
def test_wrong_dimensions(tmp_path, shape):
    np.save(tmp_path / "d.npy", np.zeros(shape))
    assert "2-D" in _err(str(tmp_path / "d.npy"))


def test_zero_rows_and_non_numeric(tmp_path):
    np.save(tmp_path / "empty.npy", np.zeros((0, 4)))
    assert "zero rows" in _err(str(tmp_path / "empty.npy"))
    np.save(tmp_path / "str.npy", np.array([["a", "b"]]))
    assert "numeric" in _err(str(tmp_path / "str.npy"))


def test_truncated_npy(z, tmp_path):
    np.save(tmp_path / "t.npy", z)
    data = (tmp_path / "t.npy").read_bytes()
    (tmp_path / "t.npy").write_bytes(data[:-100])
    assert "truncated" in _err(str(tmp_path / "t.npy"))
    (tmp_path / "junk.npy").write_bytes(b"not an npy file at all")
    assert "not a valid .npy" in _err(str(tmp_path / "junk.npy"))


def test_corrupt_and_datasetless_h5(z, tmp_path):
    (tmp_path / "c.h5").write_bytes(b"\x89HDF\r\n\x1a\n" + b"\x00" * 200)
    assert "HDF5" in _err(str(tmp_path / "c.h5"))
    with h5py.File(tmp_path / "o.h5", "w") as f:
        f["scores"] = z
        f.create_group("extra")["probs"] = z
    msg = _err(str(tmp_path / "o.h5"))
    assert "'logits'" in msg and "scores" in msg and "extra/probs" in msg
    assert build_hierarchy(str(tmp_path / "o.h5"), dataset="scores").n_leaves == 6


def test_ragged_parquet(tmp_path):
    arr = pa.array([[0.0, 1.0, 2.0], [1.0, 2.0, 3.0], [1.0, 2.0]])
    pq.write_table(pa.table({"logits": arr}), tmp_path / "r.parquet")
    msg = _err(str(tmp_path / "r.parquet"))
    assert "ragged" in msg and "row 2" in msg


def test_parquet_column_choice(z, tmp_path):
    k = z.shape[1]
    flat = pa.array(z.reshape(-1))
    lst = pa.FixedSizeListArray.from_arrays(flat, k)
    pq.write_table(pa.table({"a": lst, "b": lst}), tmp_path / "two.parquet")
    with pytest.raises(InputError) as info:
        build_hierarchy(str(tmp_path / "two.parquet"))
    # The library names the parameter; only the command line spells it as a flag.
    assert info.value.option == "column" and "--" not in str(info.value)
    proc = run_l2h("build", str(tmp_path / "two.parquet"), "-o", str(tmp_path / "t.nwk"))
    assert proc.returncode == 3 and "(see --column)" in proc.stderr.decode()
    assert build_hierarchy(str(tmp_path / "two.parquet"), column="b").n_leaves == k


def test_probabilities_must_sum_to_one(tmp_path):
    p = np.full((4, 3), 1 / 3)
    p[2] = [0.5, 0.2, 0.2]
    np.save(tmp_path / "p.npy", p)
    msg = _err(str(tmp_path / "p.npy"), input="probs")
    assert "row 2" in msg and "sums to" in msg


def test_row_of_only_neg_inf_is_rejected(tmp_path):
    z = np.zeros((3, 3))
    z[1] = -np.inf
    np.save(tmp_path / "i.npy", z)
    assert "row 1" in _err(str(tmp_path / "i.npy"))


def test_missing_file_and_unknown_extension_are_usage_errors(tmp_path):
    with pytest.raises(UsageError):
        open_logits(str(tmp_path / "nope.npy"))
    (tmp_path / "x.csv").write_text("1,2\n")
    with pytest.raises(UsageError):
        open_logits(str(tmp_path / "x.csv"))
