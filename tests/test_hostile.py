"""Hostile inputs, generated here: every case must keep the contract of the command line.

Exit code 2 (usage) or 3 (bad data), exactly one line on stderr, no traceback, no file created
or replaced anywhere in the folder, and every input left as it was.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time

import h5py
import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from helpers import l2h_main, snapshot

Z = np.random.default_rng(3).normal(size=(60, 5)).astype(np.float32)


@pytest.fixture
def folder(tmp_path, capfdbinary):
    np.save(tmp_path / "z.npy", Z)
    np.save(tmp_path / "y.npy", np.arange(60) % 3)
    (tmp_path / "names.txt").write_text("a\nb\nc\nd\ne\n")
    code, _, err = l2h_main(capfdbinary, "build", str(tmp_path / "z.npy"),
                            "-o", str(tmp_path / "t.json"), "-o", str(tmp_path / "t.nwk"),
                            "-o", str(tmp_path / "t_link.npy"))
    assert code == 0, err
    (tmp_path / "old.nwk").write_text("earlier output\n")
    return tmp_path


def _npy_bytes(header: str, payload: bytes = b"") -> bytes:
    head = header.encode("latin1")
    head += b" " * (-(len(head) + 11) % 64) + b"\n"
    return b"\x93NUMPY\x01\x00" + len(head).to_bytes(2, "little") + head + payload


def _write(path, data):
    mode = "wb" if isinstance(data, bytes) else "w"
    with open(path, mode) as fh:
        fh.write(data)
    return str(path)


def _h5(path, build):
    with h5py.File(path, "w") as f:
        build(f)
    return str(path)


def _json_tree(folder, edit):
    data = json.loads((folder / "t.json").read_text())
    text = edit(data) if callable(edit) else edit
    return _write(folder / "bad.json", text if isinstance(text, str) else json.dumps(text))


def _vlen_labels(f):
    dset = f.create_dataset("labels", (60,), dtype=h5py.vlen_dtype(np.int32))
    for i in range(60):
        dset[i] = np.arange(i % 3 + 1)


def _virtual(folder):
    layout = h5py.VirtualLayout(shape=(60, 5), dtype=np.float32)
    layout[:] = h5py.VirtualSource(str(folder / "gone.h5"), "logits", shape=(60, 5))
    return _h5(folder / "v.h5", lambda f: f.create_virtual_dataset("logits", layout))


def _parquet(path, table):
    pq.write_table(table, path)
    return str(path)


# (case, code, arguments made from the folder). Paths are relative to the folder.
CASES = [
    # An output path that is an input, or that cannot be written: refused before any work.
    ("build onto its input", 2, lambda d: ["build", d / "z.npy", "-o", d / "z.npy"]),
    ("build onto its names", 2, lambda d: ["build", d / "z.npy", "--names", d / "names.txt",
                                           "-o", d / "names.txt"]),
    ("cut onto its logits", 2, lambda d: ["cut", d / "t.json", "--k", "3", d / "z.npy",
                                          "-o", d / "z.npy"]),
    ("cut onto its tree", 2, lambda d: ["cut", d / "t.json", "--k", "3", "-o", d / "t.json"]),
    ("evaluate json onto the tree", 2, lambda d: ["evaluate", d / "t.json", d / "z.npy",
                                                  "--labels", d / "y.npy", "--json",
                                                  d / "t.json"]),
    ("evaluate json onto the logits", 2, lambda d: ["evaluate", d / "t.json", d / "z.npy",
                                                    "--labels", d / "y.npy", "--json",
                                                    d / "z.npy"]),
    ("evaluate json onto the labels", 2, lambda d: ["evaluate", d / "t.json", d / "z.npy",
                                                    "--labels", d / "y.npy", "--json",
                                                    d / "y.npy"]),
    ("render onto its tree", 2, lambda d: ["render", d / "t.json", "-o", d / "t.json.html",
                                           "-o", d / "t.json"]),
    ("build onto a hard link of its input", 2,
     lambda d: (os.link(d / "z.npy", d / "same.nwk"),
                ["build", d / "z.npy", "-o", d / "same.nwk"])[1]),
    ("build onto its input by another spelling", 2,
     lambda d: ["build", d / "z.npy", "-o", f"{d}/./../{d.name}/z.npy"]),
    ("an output that is a directory", 2,
     lambda d: (os.mkdir(d / "b.json"), ["build", d / "z.npy", "-o", d / "old.nwk",
                                         "-o", d / "b.json"])[1]),
    ("the same output twice", 2, lambda d: ["build", d / "z.npy", "-o", d / "old.nwk",
                                            "-o", f"{d}/./old.nwk"]),
    ("an output in a missing folder", 2, lambda d: ["build", d / "z.npy", "-o", d / "old.nwk",
                                                    "-o", d / "nope" / "t.json"]),
    ("an output that is a device", 2, lambda d: ["build", d / "z.npy", "-o", "/dev/null.nwk"
                                                 if False else d / "old.nwk", "-o",
                                                 (os.symlink("/dev/null", d / "null.json"),
                                                  d / "null.json")[1]]),
    # .npy files that lie.
    ("npy with a negative shape", 3,
     lambda d: ["info", _write(d / "neg.npy", _npy_bytes(
         "{'descr': '<f4', 'fortran_order': False, 'shape': (-3, 5), }"))]),
    ("npy with a malformed header", 3,
     lambda d: ["cut", d / "t.json", "--k", "2", _write(d / "mal.npy", _npy_bytes(
         "{'descr': '<f4', 'fortran_order': False, 'shape': (3, 5 }")), "-o", d / "c.txt"]),
    ("npy with a header of another type", 3,
     lambda d: ["build", _write(d / "list.npy", _npy_bytes("[1, 2, 3]")), "-o", d / "o.nwk"]),
    ("npy truncated", 3,
     lambda d: ["build", _write(d / "short.npy", (d / "z.npy").read_bytes()[:300]),
                "-o", d / "o.nwk"]),
    # Linkage matrices that lie.
    ("linkage with a lying header", 3,
     lambda d: ["cut", _write(d / "lie.npy", _npy_bytes(
         "{'descr': '<f8', 'fortran_order': False, 'shape': (100000, 4), }", b"\0" * 64)),
                "--k", "2"]),
    ("linkage of strings", 3,
     lambda d: (np.save(d / "s.npy", np.array([["0", "1", "1", "2"]])),
                ["cut", d / "s.npy", "--k", "1"])[1]),
    ("linkage with wrong counts", 3,
     lambda d: (np.save(d / "w.npy", np.array([[0, 1, 1.0, 5]])),
                ["cut", d / "w.npy", "--k", "1"])[1]),
    ("linkage of objects", 3,
     lambda d: (np.save(d / "o.npy", np.array([[0, 1, 1.0, None]], dtype=object)),
                ["cut", d / "o.npy", "--k", "1"])[1]),
    # JSON trees that lie.
    ("json claiming a billion leaves", 3,
     lambda d: ["cut", _write(d / "big.json", '{"format":"l2h-tree","n_leaves":1000000000,'
                                              '"leaves":[],"merges":[]}'), "--k", "1"]),
    ("json with 1e400", 3,
     lambda d: ["cut", _json_tree(d, lambda t: json.dumps(t).replace(
         '"height": 1.0', '"height": 1e400', 1)), "--k", "2"]),
    ("json with a 4000-digit number", 3,
     lambda d: ["cut", _json_tree(d, lambda t: json.dumps(t).replace(
         '"node": 5', '"node": ' + "9" * 4000, 1)), "--k", "2"]),
    ("json with NaN", 3,
     lambda d: ["cut", _json_tree(d, lambda t: json.dumps(t).replace(
         '"height": 1.0', '"height": NaN', 1)), "--k", "2"]),
    ("json with a string leaf id", 3,
     lambda d: ["cut", _json_tree(d, lambda t: json.dumps(t).replace(
         '"low_node": 0', '"low_node": "x"', 1)), "--k", "2"]),
    ("json cut off", 3,
     lambda d: ["cut", _write(d / "cut.json", (d / "t.json").read_text()[:200]), "--k", "2"]),
    ("json of another kind", 3, lambda d: ["cut", _write(d / "x.json", "[1, 2]"), "--k", "1"]),
    # Newick trees that lie.
    ("newick with a NaN branch length", 3,
     lambda d: ["cut", _write(d / "n.nwk", "((0:nan,1:1):1,2:2);"), "--k", "1"]),
    ("newick quoted '1_0' is not leaf 10", 3,
     lambda d: ["cut", _write(d / "q.nwk", "(('1_0',1),(2,3));"), "--k", "1"]),
    ("newick with unquoted spaces", 3,
     lambda d: ["cut", _write(d / "sp.nwk", "((sea lion,cat),dog);"), "--k", "1",
                "--names", _write(d / "n3.txt", "sea lion\ncat\ndog\n")]),
    ("newick with a huge leaf id", 3,
     lambda d: ["cut", _write(d / "h.nwk", "(0," + "9" * 5000 + ");"), "--k", "1"]),
    ("newick with 100k duplicated leaves", 3,
     lambda d: ["cut", _write(d / "dup.nwk", "(" + ",".join(["0"] * 100_000) + ");"),
                "--k", "1"]),
    ("newick that is binary junk", 3,
     lambda d: ["cut", _write(d / "bin.nwk", b"(\x00\x01);"), "--k", "1"]),
    # Names and labels without bounds or of the wrong kind.
    ("names from /dev/zero", 3, lambda d: ["build", d / "z.npy", "--names", "/dev/zero",
                                           "-o", d / "o.nwk"]),
    ("labels from /dev/zero", 3,
     lambda d: ["evaluate", d / "t.json", d / "z.npy", "--labels",
                (os.symlink("/dev/zero", d / "zero.txt"), str(d / "zero.txt"))[1]]),
    ("names split on a form feed count once", 3,
     lambda d: ["build", d / "z.npy", "--names", _write(d / "ff.txt", "a\x0cb\nc\nd\ne\n"),
                "-o", d / "o.nwk"]),
    ("labels from a Parquet list column", 3,
     lambda d: ["evaluate", d / "t.json", d / "z.npy", "--labels", _parquet(
         d / "l.parquet", pa.table({"labels": pa.array([[1, 2]] * 60)}))]),
    ("labels with nulls", 3,
     lambda d: ["evaluate", d / "t.json", d / "z.npy", "--labels", _parquet(
         d / "n.parquet", pa.table({"labels": pa.array(["a", None] * 30)}))]),
    ("labels from an HDF5 vlen dataset", 3,
     lambda d: ["evaluate", d / "t.json", d / "z.npy", "--labels", _h5(d / "vl.h5",
                                                                        _vlen_labels)]),
    ("labels of objects in .npy", 3,
     lambda d: (np.save(d / "obj.npy", np.array([None] * 60, dtype=object)),
                ["evaluate", d / "t.json", d / "z.npy", "--labels", d / "obj.npy"])[1]),
    # Containers that lie.
    ("hdf5 null dataspace", 3,
     lambda d: ["build", _h5(d / "null.h5", lambda f: f.create_dataset(
         "logits", data=h5py.Empty("f4"))), "-o", d / "o.nwk"]),
    ("hdf5 soft link loop", 3,
     lambda d: ["build", _h5(d / "loop.h5", lambda f: (
         f.__setitem__("a", h5py.SoftLink("/b")), f.__setitem__("b", h5py.SoftLink("/a")))),
                "--dataset", "a", "-o", d / "o.nwk"]),
    ("hdf5 virtual dataset with a missing source", 3,
     lambda d: ["build", _virtual(d), "-o", d / "o.nwk"]),
    ("hdf5 that is not HDF5", 3, lambda d: ["info", _write(d / "fake.h5", b"\x89HDF" * 50)]),
    ("parquet whose first row is null", 3,
     lambda d: ["build", _parquet(d / "first.parquet", pa.table(
         {"logits": pa.array([None] + [[0.0, 1.0]] * 5, type=pa.list_(pa.float32()))})),
                "-o", d / "o.nwk"]),
    ("parquet that is not Parquet", 3, lambda d: ["info", _write(d / "fake.parquet", "PAR1")]),
    # Usage.
    ("unknown aggregate", 2, lambda d: ["build", d / "z.npy", "-o", d / "o.nwk",
                                        "--aggregate", "median"]),
    ("missing output", 2, lambda d: ["build", d / "z.npy"]),
    ("missing input", 2, lambda d: ["build", d / "nope.npy", "-o", d / "o.nwk"]),
    ("several labels for show", 2, lambda d: ["show", d / "t.json", d / "z.npy", "--labels",
                                              d / "y.npy", "--labels", d / "y.npy"]),
]


@pytest.mark.parametrize("case,code,make", CASES, ids=[c[0] for c in CASES])
def test_hostile_input_keeps_the_contract(folder, capfdbinary, case, code, make):
    args = [str(a) for a in make(folder)]
    before = snapshot(folder)
    got, out, err = l2h_main(capfdbinary, *args)
    text = err.decode("utf-8", "replace")
    assert got == code, text
    assert "Traceback" not in text and "Exception ignored" not in text, text
    lines = [line for line in text.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("error: "), text
    assert snapshot(folder) == before, "a file was created, replaced or changed"
    assert not out


def test_error_lines_are_not_wrapped_for_pipes(folder, capfdbinary):
    long_name = "x" * 150 + ".npy"
    code, _, err = l2h_main(capfdbinary, "build", str(folder / long_name), "-o",
                            str(folder / "o.nwk"))
    assert code == 2 and len(err.decode().strip().splitlines()) == 1


def test_evaluate_json_is_strict_when_a_metric_is_undefined(folder, capfdbinary):
    # Every point its own label: dendrogram purity has no pair to average.
    np.save(folder / "unique.npy", np.arange(60))
    code, out, err = l2h_main(capfdbinary, "evaluate", str(folder / "t.json"),
                              str(folder / "z.npy"), "--labels", str(folder / "unique.npy"),
                              "--json", "-")
    assert code == 0, err

    def refuse(name):
        raise ValueError(name)

    report = json.loads(out, parse_constant=refuse)
    assert report["levels"][0]["dp"] is None


def test_a_failed_rename_undoes_the_outputs_already_renamed(tmp_path, monkeypatch):
    from l2h_cli.errors import OutputError
    from l2h_cli.outputs import AtomicOutputs

    first, second = tmp_path / "a.txt", tmp_path / "b.txt"
    first.write_text("old a")
    real = os.replace

    def failing(src, dst):
        if str(dst) == str(second):
            raise OSError(28, "No space left on device")
        return real(src, dst)

    monkeypatch.setattr(os, "replace", failing)
    with pytest.raises(OutputError):
        with AtomicOutputs([str(first), str(second)]) as outs:
            outs.write(str(first), lambda fh: fh.write(b"new a"))
            outs.write(str(second), lambda fh: fh.write(b"new b"))
    monkeypatch.setattr(os, "replace", real)
    assert first.read_text() == "old a" and not second.exists()
    assert sorted(os.listdir(tmp_path)) == ["a.txt"]


def test_names_keep_bom_free_first_name_and_form_feeds(folder, capfdbinary):
    (folder / "bom.txt").write_bytes("\ufeffa\nb\x0cb\nc\nd\ne\n".encode())
    code, _, err = l2h_main(capfdbinary, "build", str(folder / "z.npy"), "--names",
                            str(folder / "bom.txt"), "-o", str(folder / "named.json"))
    assert code == 0, err
    names = [leaf["name"] for leaf in json.loads((folder / "named.json").read_text())["leaves"]]
    assert names == ["a", "b\x0cb", "c", "d", "e"]


def test_input_rewritten_in_place_during_a_build_is_an_error(tmp_path):
    from l2h_cli import InputError, build_hierarchy

    z = np.random.default_rng(1).normal(size=(4000, 20)).astype(np.float32)
    path = tmp_path / "z.npy"
    np.save(path, z)
    touched = []

    def progress(stage, done, total):
        if stage == "merge" and not touched:
            with open(path, "r+b") as fh:  # same size, other values
                fh.seek(-400, os.SEEK_END)
                fh.write(np.ones(100, np.float32).tobytes())
            touched.append(True)

    with pytest.raises(InputError, match="changed"):
        build_hierarchy(str(path), memory="64K", reread=True, progress=progress)


# ---- real processes: signals, pipes, FIFOs ----------------------------------------------
def _popen(*args, **kw):
    return subprocess.Popen([sys.executable, "-m", "l2h_cli", *args], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, **kw)


@pytest.fixture(scope="module")
def gzip_h5(tmp_path_factory):
    """Logits in small gzip chunks: reading them spends most of its time inside h5py's
    filters, where an exception raised by a signal handler used to be swallowed."""
    path = tmp_path_factory.mktemp("h5") / "g.h5"
    z = np.random.default_rng(0).normal(size=(100_000, 200)).astype(np.float32)
    with h5py.File(path, "w") as f:
        f.create_dataset("logits", data=z, chunks=(16, 200), compression="gzip")
    return path


def _wait_until_open(proc, path, timeout=30.0):
    """Until the process has `path` open (so it is past its imports and reading)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            links = [os.readlink(f"/proc/{proc.pid}/fd/{fd}")
                     for fd in os.listdir(f"/proc/{proc.pid}/fd")]
        except OSError:
            links = []
        if str(path) in links:
            return
        time.sleep(0.02)
    raise AssertionError(f"{path} was never opened")


@pytest.mark.parametrize("sig,code,delay", [(signal.SIGINT, 130, 0.1),
                                            (signal.SIGINT, 130, 0.6),
                                            (signal.SIGTERM, 143, 0.3)])
def test_signal_during_a_compressed_hdf5_build_stops_it(gzip_h5, tmp_path, sig, code, delay):
    proc = _popen("-q", "build", str(gzip_h5), "-o", str(tmp_path / "out.json"),
                  "--chunk-rows", "16", "--memory", "8M")
    _wait_until_open(proc, gzip_h5)
    time.sleep(delay)
    proc.send_signal(sig)
    _, err = proc.communicate(timeout=60)
    text = err.decode()
    # The build takes about three seconds: an exit 0 here means the signal was lost.
    assert proc.returncode == code, text
    assert text.strip() == "interrupted; no output written", text
    assert os.listdir(tmp_path) == []


def test_broken_stdout_fails_the_run_and_writes_no_file(folder):
    # The reader is gone before l2h writes (`true` reads nothing); five long names make a
    # Newick of 500 kB, more than a pipe holds.
    (folder / "long.txt").write_text("".join(f"{i}{'x' * 100_000}\n" for i in range(5)))
    proc = subprocess.run(f"{sys.executable} -m l2h_cli -q build {folder}/z.npy -o - --names "
                          f"{folder}/long.txt -o {folder}/c.npy | true; "
                          "exit ${PIPESTATUS[0]}",
                          shell=True, executable="/bin/bash", capture_output=True, timeout=120)
    err = proc.stderr.decode()
    assert proc.returncode == 1 and err.strip().startswith("error: cannot write to stdout"), err
    assert not (folder / "c.npy").exists()


def test_closed_stdout_fails_before_any_work(folder):
    proc = subprocess.run(f"{sys.executable} -m l2h_cli build {folder}/z.npy -o - "
                          f"-o {folder}/t2.json >&-", shell=True, capture_output=True,
                          timeout=60)
    assert proc.returncode == 1 and "stdout" in proc.stderr.decode(), proc.stderr
    assert not (folder / "t2.json").exists()


def test_closed_stdin_is_a_clean_input_error(folder):
    proc = subprocess.run(f"{sys.executable} -m l2h_cli build - -o {folder}/s.nwk <&-",
                          shell=True, capture_output=True, timeout=60)
    assert proc.returncode == 3 and proc.stderr.decode().count("\n") == 1, proc.stderr
    assert not (folder / "s.nwk").exists()


def test_a_fifo_is_read_as_a_stream(folder):
    fifo = folder / "pipe.npy"
    os.mkfifo(fifo)
    proc = _popen("build", str(fifo), "-o", "-")
    with open(fifo, "wb") as fh:
        fh.write((folder / "z.npy").read_bytes())
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 0, err
    assert out == (folder / "t.nwk").read_bytes()
