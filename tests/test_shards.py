"""Sharded inputs (several files, a folder, a glob) give the tree of the whole matrix; on one
machine and on a Dask cluster."""

from __future__ import annotations

import json

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from helpers import l2h_main
from l2h_cli import InputError, build_hierarchy
from reference import merges_as_leaves, reference_l2h


def write_dense_shard(path, z, kind):
    if kind == "npy":
        np.save(path.with_suffix(".npy"), z)
    elif kind == "npz":
        np.savez_compressed(path.with_suffix(".npz"), logits=z)
    else:
        k = z.shape[1]
        lst = pa.FixedSizeListArray.from_arrays(pa.array(z.reshape(-1)), k)
        pq.write_table(pa.table({"logits": lst}), path.with_suffix(".parquet"),
                       row_group_size=max(1, len(z) // 2))


def write_sparse_shard(path, idx, val, n_classes, kind):
    if kind == "npz":
        np.savez(path.with_suffix(".npz"), indices=idx, values=val, n_classes=n_classes)
    else:
        table = pa.table({"indices": pa.array(list(idx)), "values": pa.array(list(val))})
        pq.write_table(table.replace_schema_metadata({"n_classes": str(n_classes)}),
                       path.with_suffix(".parquet"))


@st.composite
def split(draw, n):
    cuts = sorted(draw(st.lists(st.integers(1, max(1, n - 1)), max_size=4, unique=True)))
    return [c for c in cuts if 0 < c < n]


@settings(max_examples=20, deadline=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
@given(st.integers(2, 80), st.integers(1, 8), st.integers(0, 2**32 - 1), st.data())
def test_dense_shards_of_any_format_give_the_whole_tree(tmp_path_factory, n, k, seed, data):
    rng = np.random.default_rng(seed)
    z = rng.normal(scale=2.0, size=(n, k)).astype(np.float32)
    if k > 2:
        z[:, -1] = -np.inf  # an absent column
    folder = tmp_path_factory.mktemp("shards")
    for i, part in enumerate(np.split(z, data.draw(split(n)))):
        write_dense_shard(folder / f"part-{i:03d}", part,
                          data.draw(st.sampled_from(["npy", "npz", "parquet"])))
    tree = build_hierarchy(str(folder), memory=data.draw(st.sampled_from([1, 2**30])))
    assert merges_as_leaves(tree) == reference_l2h(z)


@settings(max_examples=15, deadline=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
@given(st.integers(2, 80), st.integers(2, 10), st.integers(0, 2**32 - 1), st.data())
def test_sparse_shards_with_different_widths_give_the_whole_tree(tmp_path_factory, n, K, seed,
                                                                 data):
    rng = np.random.default_rng(seed)
    folder = tmp_path_factory.mktemp("sparse")
    dense = np.full((n, K), -np.inf)
    for i, rows in enumerate(np.split(np.arange(n), data.draw(split(n)))):
        k = int(rng.integers(1, K + 1))
        idx = np.array([rng.choice(K, k, replace=False) for _ in rows]).reshape(len(rows), k)
        val = rng.normal(scale=2.0, size=(len(rows), k))
        for r, ids, vs in zip(rows, idx, val):
            dense[r, ids] = vs
        write_sparse_shard(folder / f"p{i:03d}", idx, val, K,
                           data.draw(st.sampled_from(["npz", "parquet"])))
    tree = build_hierarchy(str(folder))
    assert merges_as_leaves(tree) == reference_l2h(dense)


def test_cli_takes_several_files_a_folder_and_a_glob(tmp_path, capfdbinary):
    z = np.random.default_rng(1).normal(size=(300, 9)).astype(np.float32)
    np.save(tmp_path / "all.npy", z)
    (tmp_path / "parts").mkdir()
    for i, part in enumerate(np.split(z, [50, 170])):
        np.save(tmp_path / "parts" / f"s{i}.npy", part)
    outs = set()
    for args in ([str(tmp_path / "all.npy")], [str(tmp_path / "parts")],
                 [str(tmp_path / "parts" / "s*.npy")],
                 [str(tmp_path / "parts" / f"s{i}.npy") for i in (2, 0, 1)]):
        code, out, err = l2h_main(capfdbinary, "build", *args, "-o", "-")
        assert code == 0, err
        outs.add(out)
    assert len(outs) == 1
    code, _, err = l2h_main(capfdbinary, "build", str(tmp_path / "all.npy"), "-o",
                            str(tmp_path / "t.json"))
    code, whole, _ = l2h_main(capfdbinary, "cut", str(tmp_path / "t.json"), "--k", "3",
                              str(tmp_path / "all.npy"))
    code, parts, _ = l2h_main(capfdbinary, "cut", str(tmp_path / "t.json"), "--k", "3",
                              str(tmp_path / "parts"))
    assert code == 0 and whole == parts


def test_a_shard_with_other_columns_is_named(tmp_path):
    np.save(tmp_path / "a.npy", np.zeros((3, 4), np.float32))
    np.save(tmp_path / "b.npy", np.zeros((3, 5), np.float32))
    with pytest.raises(InputError, match="b.npy: 5 columns"):
        build_hierarchy(str(tmp_path))


# ---- on a Dask cluster -------------------------------------------------------------------
@pytest.fixture(scope="module")
def client():
    distributed = pytest.importorskip("dask.distributed")
    cluster = distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                       dashboard_address=None)
    with distributed.Client(cluster) as c:
        yield c
    cluster.close()


def _shards(folder, seed, sparse):
    """A matrix with empty and absent clusters, written as 3-5 shards of mixed formats."""
    rng = np.random.default_rng(seed)
    n, K = 900, 24
    if sparse:
        k = 6
        idx = np.array([rng.choice(K - 3, k, replace=False) for _ in range(n)])
        val = rng.normal(scale=2.0, size=(n, k))
        dense = np.full((n, K), -np.inf)
        for r in range(n):
            dense[r, idx[r]] = val[r]
        cuts = np.sort(rng.choice(np.arange(1, n), rng.integers(2, 5), replace=False))
        for i, rows in enumerate(np.split(np.arange(n), cuts)):
            write_sparse_shard(folder / f"p{i}", idx[rows], val[rows], K,
                               ["npz", "parquet"][i % 2])
        return dense
    z = rng.normal(scale=2.0, size=(n, K)).astype(np.float32)
    z[:, 3] -= 40  # empty
    z[:, 9] = -np.inf  # absent
    cuts = np.sort(rng.choice(np.arange(1, n), rng.integers(2, 5), replace=False))
    for i, part in enumerate(np.split(z, cuts)):
        write_dense_shard(folder / f"p{i}", part, ["npy", "npz", "parquet"][i % 3])
    return z


@pytest.mark.parametrize("seed,sparse", [(0, False), (1, True), (2, False), (3, True)])
def test_dask_build_equals_the_local_build_and_the_reference(client, tmp_path, seed, sparse):
    z = _shards(tmp_path, seed, sparse)
    on_dask = build_hierarchy(str(tmp_path), client=client)
    local = build_hierarchy(str(tmp_path), memory=1)
    assert merges_as_leaves(on_dask) == merges_as_leaves(local) == reference_l2h(z)
    assert on_dask.meta["dask"]["shards"] == len(list(tmp_path.iterdir()))
    # The same tree, leaves and merges; the recorded shares and margins from certified fast
    # steps (whole rows on the workers, outside masses here), each within its bound.
    a, b = json.loads(on_dask.to_json()), json.loads(local.to_json())
    stats = ("margin_best", "strength", "runner_up_share")
    for ma, mb in zip(a["merges"], b["merges"]):
        for key in stats:
            x, y = ma.pop(key), mb.pop(key)
            assert (x is None) == (y is None) and (x is None or abs(x - y) <= 4e-5), key
    assert a == b


def test_a_worker_killed_during_the_merge_loop_still_gives_the_tree(client, tmp_path):
    import os
    import signal

    z = _shards(tmp_path, 7, False)
    killed = []

    def progress(stage, done, total):
        if stage == "merge" and done == 5 and not killed:
            # SIGKILL one worker process: the rows it held are gone; its nanny restarts it.
            pid = sorted(client.run(os.getpid).items())[0][1]
            os.kill(pid, signal.SIGKILL)
            killed.append(pid)

    tree = build_hierarchy(str(tmp_path), client=client, progress=progress)
    assert killed
    assert merges_as_leaves(tree) == reference_l2h(z)
    client.wait_for_workers(2, timeout=60)


def test_cli_dask_local_gives_the_local_tree(tmp_path):
    pytest.importorskip("dask.distributed")
    from helpers import run_l2h
    _shards(tmp_path, 11, False)
    local = run_l2h("build", str(tmp_path), "-o", "-")
    remote = run_l2h("build", str(tmp_path), "-o", "-", "--dask", "local:2")
    assert remote.returncode == 0, remote.stderr
    assert remote.stdout == local.stdout and b"dask: " in remote.stderr


def test_dask_option_without_dask_says_how_to_install(tmp_path, capfdbinary, monkeypatch):
    import sys
    np.save(tmp_path / "z.npy", np.zeros((3, 2)))
    monkeypatch.setitem(sys.modules, "dask.distributed", None)
    code, _, err = l2h_main(capfdbinary, "build", str(tmp_path / "z.npy"), "-o",
                            str(tmp_path / "t.nwk"), "--dask", "local")
    assert code == 2 and b"pip install 'l2h[dask]'" in err, err
