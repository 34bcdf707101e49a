"""`l2h build` as users run it: real processes, real files, exit codes, clean pipes."""

import json
import os
import signal
import subprocess
import sys
import time

import numpy as np
import pytest

from helpers import run_l2h, write_all_layouts


@pytest.fixture
def z():
    return np.random.default_rng(8).normal(size=(300, 7)).astype(np.float32)


def assert_clean_failure(proc, code, *words, folder=None):
    err = proc.stderr.decode()
    assert proc.returncode == code, err
    assert "Traceback" not in err
    lines = [line for line in err.splitlines() if line.startswith("error:")]
    assert len(lines) == 1, err
    for w in words:
        assert w in lines[0], err
    if folder is not None:
        assert not [p for p in os.listdir(folder) if p.startswith("out") or ".part" in p]


def test_build_writes_every_output_and_stdout_is_newick(z, tmp_path):
    np.save(tmp_path / "z.npy", z)
    proc = run_l2h("build", str(tmp_path / "z.npy"), "-o", str(tmp_path / "t.nwk"),
                   "-o", str(tmp_path / "t.json"), "-o", str(tmp_path / "t.npy"), "-o", "-")
    assert proc.returncode == 0, proc.stderr
    out = proc.stdout.decode()
    assert out.strip().endswith(";") and out.count("\n") == 1
    assert (tmp_path / "t.nwk").read_text() == out
    assert json.loads((tmp_path / "t.json").read_text())["n_leaves"] == 7
    assert np.load(tmp_path / "t.npy").shape == (6, 4)


def test_all_layouts_and_stdin_give_one_tree(z, tmp_path):
    paths = write_all_layouts(z, tmp_path)
    outs = set()
    for path in paths.values():
        proc = run_l2h("build", path, "-o", "-", "--chunk-rows", "11")
        assert proc.returncode == 0, proc.stderr
        outs.add(proc.stdout)
    proc = run_l2h("build", "-", "-o", "-", stdin=open(paths["npy"], "rb").read())
    assert proc.returncode == 0, proc.stderr
    outs.add(proc.stdout)
    assert len(outs) == 1


@pytest.mark.parametrize("case", ["nan", "dims", "names", "probs", "h5", "truncated"])
def test_bad_input_exit_3_one_line_no_output(z, tmp_path, case):
    target = str(tmp_path / "z.npy")
    extra = []
    if case == "nan":
        z = z.copy()
        z[42, 0] = np.nan
        np.save(target, z)
        words = ["z.npy", "row 42"]
    elif case == "dims":
        np.save(target, z[None])
        words = ["z.npy", "2-D"]
    elif case == "names":
        np.save(target, z)
        (tmp_path / "names.txt").write_text("a\nb\n")
        extra = ["--names", str(tmp_path / "names.txt")]
        words = ["names.txt", "2 names for 7"]
    elif case == "probs":
        np.save(target, np.abs(z))
        extra = ["--input", "probs"]
        words = ["z.npy", "sums to"]
    elif case == "h5":
        target = str(tmp_path / "z.h5")
        import h5py
        with h5py.File(target, "w") as f:
            f["other"] = z
        words = ["z.h5", "other"]
    else:
        np.save(target, z)
        data = open(target, "rb").read()
        open(target, "wb").write(data[:-50])
        words = ["truncated"]
    proc = run_l2h("build", target, "-o", str(tmp_path / "out.json"),
                   "-o", str(tmp_path / "out.nwk"), *extra)
    assert_clean_failure(proc, 3, *words, folder=tmp_path)


def test_usage_errors_exit_2(z, tmp_path):
    np.save(tmp_path / "z.npy", z)
    assert_clean_failure(run_l2h("build", str(tmp_path / "missing.npy"), "-o", "x.nwk"), 2,
                         "missing.npy")
    assert_clean_failure(run_l2h("build", str(tmp_path / "z.npy"), "-o",
                                 str(tmp_path / "out.png")), 2, "out.png", folder=tmp_path)
    assert run_l2h("build", str(tmp_path / "z.npy")).returncode == 2
    assert run_l2h("build", str(tmp_path / "z.npy"), "-o", "-", "--aggregate", "median"
                   ).returncode == 2


def test_stdin_truncated_stream(z, tmp_path):
    np.save(tmp_path / "z.npy", z)
    data = (tmp_path / "z.npy").read_bytes()[:-30]
    proc = run_l2h("build", "-", "-o", str(tmp_path / "out.nwk"), stdin=data)
    assert_clean_failure(proc, 3, "<stdin>", "truncated", folder=tmp_path)


def test_warnings_for_empty_clusters_and_duplicate_names(tmp_path):
    z = np.zeros((4, 3))
    z[:, 0] = 5
    z[2:, 1] = 6
    np.save(tmp_path / "z.npy", z)
    (tmp_path / "n.txt").write_text("cat\nCat\ndog\n")
    proc = run_l2h("build", str(tmp_path / "z.npy"), "--names", str(tmp_path / "n.txt"),
                   "-o", "-")
    assert proc.returncode == 0
    err = proc.stderr.decode()
    assert "argmax of no point" in err and "duplicate" in err
    assert "'Cat (2)'" in proc.stdout.decode()
    quiet = run_l2h("-q", "build", str(tmp_path / "z.npy"), "--names", str(tmp_path / "n.txt"),
                    "-o", "-")
    assert quiet.returncode == 0 and quiet.stderr == b""


def test_interrupt_leaves_no_output_and_no_temp_files(tmp_path):
    rng = np.random.default_rng(0)
    np.save(tmp_path / "big.npy", rng.normal(size=(20000, 300)).astype(np.float32))
    spill = tmp_path / "tmp"
    spill.mkdir()
    env = dict(os.environ, TMPDIR=str(spill))
    proc = subprocess.Popen([sys.executable, "-m", "l2h_cli", "-q", "build",
                             str(tmp_path / "big.npy"), "-o", str(tmp_path / "out.json"), "--memory", "1M",
                             "--chunk-rows", "64", "--strategy", "all-pairs", "--spill"],
                            stderr=subprocess.PIPE, env=env)
    time.sleep(2.0)  # all-pairs with a spill takes several seconds
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=60)
    # 130 only if the signal stopped the build (it takes several seconds more).
    assert proc.returncode == 130, err
    assert err.decode().strip() == "interrupted; no output written", err
    assert os.listdir(spill) == []  # the spill file is unnamed: nothing may be left either
    assert not [p for p in os.listdir(tmp_path) if p.startswith("out") or ".part" in p]


def test_reread_and_spill_beyond_the_budget_give_the_in_memory_tree(z, tmp_path):
    np.save(tmp_path / "z.npy", z)
    trees = set()
    for flags in ([], ["--memory", "1K"], ["--memory", "1K", "--reread"],
                  ["--memory", "1K", "--spill"]):
        proc = run_l2h("build", str(tmp_path / "z.npy"), "-o", "-", "--chunk-rows", "16", *flags)
        assert proc.returncode == 0, proc.stderr
        trees.add(proc.stdout)
    assert len(trees) == 1


def test_piped_stderr_has_one_summary_line_and_no_progress_bar(z, tmp_path):
    np.save(tmp_path / "z.npy", z)
    proc = run_l2h("build", str(tmp_path / "z.npy"), "-o", str(tmp_path / "t.json"))
    err = proc.stderr.decode()
    assert proc.returncode == 0
    assert err.startswith("built a 7-leaf tree from 300 points") and err.count("\n") == 1
    assert "\x1b" not in err and "\r" not in err
    quiet = run_l2h("-q", "build", str(tmp_path / "z.npy"), "-o", str(tmp_path / "t.json"))
    assert quiet.returncode == 0 and quiet.stderr == b""


def test_one_cluster_gives_a_one_leaf_tree_in_every_format(tmp_path):
    np.save(tmp_path / "k1.npy", np.zeros((5, 1), dtype=np.float32))
    proc = run_l2h("build", str(tmp_path / "k1.npy"), "--names", "/dev/stdin", "-o", "-",
                   "-o", str(tmp_path / "t.json"), "-o", str(tmp_path / "z.npy"),
                   stdin=b"only one\n")
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout == b"'only one';\n"
    assert json.loads((tmp_path / "t.json").read_text())["merges"] == []
    assert np.load(tmp_path / "z.npy").shape == (0, 4)
