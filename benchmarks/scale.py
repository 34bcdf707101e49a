"""Benchmarks past a thousand classes and beyond one machine (`make bench` runs them after
run.py), each command its own process under /usr/bin/time -v, in one run:

- 50,000 x 21,843 float32 dense .npy (4.4 GB), --memory 1G, against a bare read+argmax pass;
- 2,000,000 rows x top-32 over K = 131,072 as Parquet, --memory 1G, against a bare pass;
- 1,000,000 rows x top-16 over K = 262,144 as .npz, --memory 1G;
- 1,281,167 x 1000 as 16 .npy shards: built on this machine and on `--dask local:2`, with
  the Dask run's step tasks and bytes sent to the client;
- for both dense matrices, the reads an exact build cannot avoid, timed alone against the
  bare pass (read_floor.py, on the tree the build made).

    python benchmarks/scale.py [--repeat 3] [--only NAME ...]

Data goes to benchmarks/data/ (about 17 GB) and is kept; results to
benchmarks/results/scale.json and a markdown table on stdout.
"""

from __future__ import annotations

import argparse
import json
import re
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

from run import DATA, HERE, L2H, PY, RESULTS, summary, timed, timed_once, warm

CASES = ("dense21k", "topk131k", "topk262k", "shards")


def generate(path: Path, args: list[str], script: str = "generate.py") -> Path:
    if not path.exists():
        print(f"generating {path.name} ...", file=sys.stderr)
        subprocess.run([PY, str(HERE / script), *args, str(path)], check=True)
    return path


def shards(n: int, k: int, count: int) -> Path:
    """The n x k matrix of run.py as `count` .npy shards (row blocks of the one file)."""
    whole = generate(DATA / f"n{n}_k{k}.npy", [str(n), str(k)])
    folder = DATA / f"n{n}_k{k}_shards{count}"
    if not folder.exists():
        matrix = np.load(whole, mmap_mode="r")
        tmp = folder.with_name(folder.name + ".part")
        tmp.mkdir(parents=True, exist_ok=True)
        for i, rows in enumerate(np.array_split(np.arange(n), count)):
            np.save(tmp / f"part-{i:03d}.npy", np.ascontiguousarray(matrix[rows[0]:rows[-1] + 1]))
        tmp.rename(folder)
    return folder


def warm_all(path: Path) -> None:
    for p in ([path] if path.is_file() else sorted(path.iterdir())):
        warm(p)


def dask_figures(cmd: list[str]) -> dict:
    """One more run of a --dask build, to read what it reports on stderr."""
    proc = subprocess.run(cmd, capture_output=True, text=True, check=True)
    m = re.search(r"dask: (\d+) shard\(s\), (\d+) steps ran (\d+) tasks, ([\d.]+) MiB",
                  proc.stderr)
    return {"shards": int(m.group(1)), "steps_with_tasks": int(m.group(2)),
            "step_tasks": int(m.group(3)), "mib_to_client": float(m.group(4))}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--only", nargs="*", choices=CASES, default=list(CASES))
    args = ap.parse_args()
    RESULTS.mkdir(exist_ok=True)
    out = RESULTS / "scale_tree.json"
    rows: list[dict] = []
    floors: list[str] = []

    def read_floor(path: Path) -> None:
        """read_floor.py on the tree just written to `out` from the rows of `path`."""
        proc = subprocess.run([PY, str(HERE / "read_floor.py"), str(path), str(out)],
                              capture_output=True, text=True, check=True)
        floors.append(proc.stdout.rstrip())

    def bare_and_build(case: str, path: Path, *extra: str) -> None:
        # Taken in turn, each after reading the file once: this VM's page cache is sometimes
        # emptied, which made one bare pass take 12 s instead of 1.
        bare_cmd = [PY, str(HERE / "bare_pass.py"), str(path)]
        build_cmd = [*L2H, "-q", "build", str(path), "-o", str(out), "--memory", "1G", *extra]
        bare_runs, build_runs = [], []
        for _ in range(args.repeat):
            for cmd, runs in ((bare_cmd, bare_runs), (build_cmd, build_runs)):
                warm_all(path)
                runs.append(timed_once(cmd))
        bare, build = summary(bare_runs, bare_cmd), summary(build_runs, build_cmd)
        rows.extend([dict(bare, case=case, what="bare read + argmax pass"),
                     dict(build, case=case, what="l2h build --memory 1G " + " ".join(extra),
                          ratio=f"{build['wall_s'] / bare['wall_s']:.1f}x the bare pass")])

    if "dense21k" in args.only:
        dense = generate(DATA / "n50000_k21843.npy", ["50000", "21843"])
        bare_and_build("50k x 21,843 .npy (dense)", dense)
        read_floor(dense)
    if "topk131k" in args.only:
        bare_and_build("2M x top-32 of 131,072 .parquet",
                       generate(DATA / "topk_n2000000_K131072_k32.parquet",
                                ["2000000", "131072", "32"], "generate_topk.py"))
    if "topk262k" in args.only:
        bare_and_build("1M x top-16 of 262,144 .npz",
                       generate(DATA / "topk_n1000000_K262144_k16.npz",
                                ["1000000", "262144", "16"], "generate_topk.py"))
    if "shards" in args.only:
        folder = shards(1_281_167, 1000, 16)
        warm_all(folder)
        local = timed([*L2H, "-q", "build", str(folder), "-o", str(out), "--memory", "1G"],
                      args.repeat)
        local_tree = json.loads(out.read_text())["merges"]
        read_floor(DATA / "n1281167_k1000.npy")
        cmd = [*L2H, "build", str(folder), "-o", str(out), "--dask", "local:2"]
        remote = timed(cmd, args.repeat)
        remote_tree = json.loads(out.read_text())["merges"]
        # The same merges; the recorded shares agree within the fast steps' bound (workers
        # take whole rows, this machine each point's outside mass).
        same = [(m["low_node"], m["best_node"]) for m in remote_tree] \
            == [(m["low_node"], m["best_node"]) for m in local_tree]
        strength_gap = max((abs(a["strength"] - b["strength"])
                            for a, b in zip(remote_tree, local_tree)
                            if a["strength"] is not None and b["strength"] is not None),
                           default=0.0)
        figures = dask_figures(cmd)
        rows += [dict(local, case="1281k x 1000, 16 .npy shards", what="l2h build --memory 1G"),
                 dict(remote, case="1281k x 1000, 16 .npy shards",
                      what="l2h build --dask local:2", same_merges=same,
                      strength_gap=float(f"{strength_gap:.2g}"),
                      ratio=f"{remote['wall_s'] / local['wall_s']:.2f}x the local build",
                      **figures,
                      # An upper bound: the difference also holds the cluster's start.
                      per_step_ms=round(1000 * max(0.0, remote["wall_s"] - local["wall_s"])
                                        / max(1, figures["steps_with_tasks"]), 2))]

    report = {"date": time.strftime("%Y-%m-%d %H:%M"), "runs": rows, "read_floors": floors}
    (RESULTS / "scale.json").write_text(json.dumps(report, indent=2) + "\n")
    print("| case | command | wall s | peak RSS MiB | ratio | notes |")
    print("|---|---|---:|---:|---|---|")
    for r in rows:
        notes = ", ".join(f"{key} {r[key]}" for key in ("same_merges", "strength_gap",
                                                          "steps_with_tasks",
                                                          "step_tasks", "mib_to_client",
                                                          "per_step_ms")
                          if key in r)
        print(f"| {r['case']} | {r['what']} | {r['wall_s']} | {r['max_peak_rss_mib']} | "
              f"{r.get('ratio', '')} | {notes} |")
    for text in floors:
        print("\n" + text)


if __name__ == "__main__":
    main()
