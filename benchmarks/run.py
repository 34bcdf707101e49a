"""Benchmarks of `l2h build`, every figure measured in the same run (`make bench`).

Each command runs as its own process under /usr/bin/time -v (wall time, peak RSS):
- 50,000 x 1000: l2h against a literal, per-step implementation of Algorithm 1
  (reference_l2h.py), whole process against whole process, and their merges compared;
- 1,281,167 x 1000 (ImageNet's training set size) as .npy, .h5 and .parquet with
  --memory 1G, against a bare pass that reads every row block of the same file and takes
  its argmax;
- N = 100k, 400k and 1.28M .npy with --memory 1G: peak RSS must not grow with N.

    python benchmarks/run.py [--quick] [--big-reference] [--repeat 3]

--quick runs the 50k comparison and the 100k point only. --big-reference also runs the
reference on the 1.28M matrix, once, in its --low-memory form (about 20 minutes, 10 GB).
Data is generated into benchmarks/data/ (about 16 GB for the full run) and kept.
Every command runs --repeat times (3) and the median wall time is reported, after one untimed
build that loads the compiled kernels' cache. Results: a markdown table on stdout and
benchmarks/results/latest.json.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
DATA = HERE / "data"
RESULTS = HERE / "results"
PY = sys.executable
L2H = [PY, "-m", "l2h_cli"]
BIG = 1_281_167
K = 1000


REPEAT = 3


def timed_once(cmd: list[str]) -> dict:
    """Run under /usr/bin/time -v; wall seconds and peak RSS in MiB."""
    proc = subprocess.run(["/usr/bin/time", "-v", *cmd], capture_output=True, text=True)
    if proc.returncode != 0:
        raise SystemExit(f"failed: {' '.join(cmd)}\n{proc.stderr[-2000:]}")
    wall = re.search(r"Elapsed \(wall clock\) time.*: (?:(\d+):)?(\d+):([\d.]+)", proc.stderr)
    h, m, s = wall.groups()
    rss = re.search(r"Maximum resident set size \(kbytes\): (\d+)", proc.stderr)
    return {"wall_s": round(int(h or 0) * 3600 + int(m) * 60 + float(s), 2),
            "peak_rss_mib": round(int(rss.group(1)) / 1024, 1)}


def timed(cmd: list[str], repeat: int = REPEAT) -> dict:
    """The run with the median wall time of `repeat` (shared VMs are noisy); every run is kept
    in the JSON."""
    return summary([timed_once(cmd) for _ in range(repeat)], cmd)


def summary(runs: list[dict], cmd: list[str]) -> dict:
    """timed()'s record of these runs of `cmd`."""
    median = sorted(runs, key=lambda r: r["wall_s"])[len(runs) // 2]
    return dict(median, cmd=" ".join(cmd[1:]), all_wall_s=[r["wall_s"] for r in runs],
                max_peak_rss_mib=max(r["peak_rss_mib"] for r in runs))


def data(n: int, ext: str) -> Path:
    path = DATA / f"n{n}_k{K}{ext}"
    if not path.exists():
        print(f"generating {path.name} ...", file=sys.stderr)
        subprocess.run([PY, str(HERE / "generate.py"), str(n), str(K), str(path)], check=True)
    return path


def warm(path: Path) -> None:
    """Read the file once so every timed run starts from the same (cached) state."""
    with open(path, "rb") as fh:
        while fh.read(64 * 2**20):
            pass


def merges_of_tree(path: Path) -> list:
    tree = json.loads(path.read_text())
    return [[m["low"], m["best"]] for m in tree["merges"]]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--big-reference", action="store_true")
    ap.add_argument("--repeat", type=int, default=REPEAT,
                    help="runs per command; the median is reported")
    args = ap.parse_args()

    def measure(cmd: list[str], repeat: int | None = None) -> dict:
        return timed(cmd, repeat or args.repeat)
    RESULTS.mkdir(exist_ok=True)
    out_tree = RESULTS / "tree.json"
    rows: list[dict] = []
    report: dict = {"machine": {"cpus": os.cpu_count(), "python": platform.python_version(),
                                "platform": platform.platform()},
                    "date": time.strftime("%Y-%m-%d %H:%M"), "runs": rows}

    small = data(50_000, ".npy")
    warm(small)
    # Load (or, after an edit, compile) the numba cache once, outside every timing: rows held
    # in memory, and rows read back from the file.
    for memory in ("2G", "64M"):
        subprocess.run([*L2H, "-q", "build", str(small), "-o", str(out_tree), "--memory", memory],
                       check=True)
    ref_out = RESULTS / "reference_merges.json"
    ref = measure([PY, str(HERE / "reference_l2h.py"), str(small), str(ref_out)])
    ours = measure([*L2H, "-q", "build", str(small), "-o", str(out_tree)])
    same = merges_of_tree(out_tree) == json.loads(ref_out.read_text())
    rows += [dict(ref, case="50k x 1000 .npy", what="reference (Algorithm 1, per step)"),
             dict(ours, case="50k x 1000 .npy", what="l2h build",
                  ratio=f"{ref['wall_s'] / ours['wall_s']:.1f}x faster than reference",
                  same_merges=same)]

    sizes = [100_000] if args.quick else [100_000, 400_000, BIG]
    for n in sizes:
        path = data(n, ".npy")
        warm(path)
        bare = measure([PY, str(HERE / "bare_pass.py"), str(path)])
        run = measure([*L2H, "-q", "build", str(path), "-o", str(out_tree), "--memory", "1G"])
        label = f"{n // 1000}k x 1000 .npy"
        rows += [dict(bare, case=label, what="bare read + argmax pass"),
                 dict(run, case=label, what="l2h build --memory 1G",
                      ratio=f"{run['wall_s'] / bare['wall_s']:.1f}x the bare pass")]
        if n == BIG:
            npy_time = run["wall_s"]
            big_tree = merges_of_tree(out_tree)
            # The same build with the rows copied to a spill file instead of read again
            # from the input (what Parquet and streams always do), on disk and in tmpfs.
            spill_runs = [["--spill"]]
            if os.path.isdir("/dev/shm"):
                spill_runs.append(["--spill", "--tmpdir", "/dev/shm"])
            for extra in spill_runs:
                spill = measure([*L2H, "-q", "build", str(path), "-o", str(out_tree), "--memory",
                               "1G", *extra])
                rows.append(dict(spill, case=label, what="l2h build --memory 1G " + " ".join(extra),
                                 ratio=f"{spill['wall_s'] / bare['wall_s']:.1f}x the bare pass",
                                 same_merges=merges_of_tree(out_tree) == big_tree))
            for ext in (".h5", ".parquet"):
                other = data(n, ext)
                warm(other)
                bare_o = measure([PY, str(HERE / "bare_pass.py"), str(other)])
                run_o = measure([*L2H, "-q", "build", str(other), "-o", str(out_tree),
                               "--memory", "1G"])
                rows += [dict(bare_o, case=f"{n // 1000}k x 1000 {ext}",
                              what="bare read + argmax pass"),
                         dict(run_o, case=f"{n // 1000}k x 1000 {ext}",
                              what="l2h build --memory 1G",
                              ratio=f"{run_o['wall_s'] / npy_time:.2f}x the .npy build",
                              same_merges=merges_of_tree(out_tree) == big_tree)]
            if args.big_reference:
                big_ref = measure([PY, str(HERE / "reference_l2h.py"), str(path), str(ref_out),
                                   "--low-memory"], repeat=1)
                rows.append(dict(big_ref, case=f"{n // 1000}k x 1000 .npy",
                                 what="reference (Algorithm 1, per step)",
                                 same_merges=json.loads(ref_out.read_text()) == big_tree))

    (RESULTS / "latest.json").write_text(json.dumps(report, indent=2) + "\n")
    print(f"machine: {report['machine']['cpus']} cpus, Python {report['machine']['python']}, "
          f"{report['machine']['platform']}; {report['date']}\n")
    print(f"Median wall time of {args.repeat} runs (all runs in results/latest.json); peak RSS "
          "is the largest of the runs.\n")
    print("| case | command | wall s | peak RSS MiB | ratio | same merges |")
    print("|---|---|---:|---:|---|---|")
    for r in rows:
        print(f"| {r['case']} | {r['what']} | {r['wall_s']} | {r['max_peak_rss_mib']} | "
              f"{r.get('ratio', '')} | {r.get('same_merges', '')} |")


if __name__ == "__main__":
    main()
