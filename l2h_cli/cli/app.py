"""The `l2h` command: a thin layer over the library."""

from __future__ import annotations

import io
import os
import sys
import time
import warnings
from enum import Enum
from pathlib import Path
from typing import List, Optional

import numpy as np
import typer

from .. import __version__
from ..engine.build import build_hierarchy, parse_size
from .console import checkpoint, guarded, info, progress_bar, run, state, write_stdout
from ..errors import L2HWarning, UsageError
from ..formats import format_of
from ..outputs import AtomicOutputs
from ..readers import open_logits
from ..trees.treeio import read_names, read_names_raw, tree_format, write_tree

app = typer.Typer(add_completion=False, no_args_is_help=True, pretty_exceptions_enable=False,
                  rich_markup_mode=None,
                  help="Logits to Hierarchies: build, evaluate, cut and draw a hierarchy of a flat "
                       "model's clusters from its logits.")


# Options several commands share.
TREE_ARG = typer.Argument(..., metavar="TREE", help="Tree: l2h .json, linkage .npy, Newick, "
                                                    "or - (stdin, format sniffed).")


class TreeFormat(str, Enum):
    newick = "newick"
    json = "json"
    linkage = "linkage"


TREE_FORMAT_OPT = typer.Option(None, "--format", metavar="newick|json|linkage",
                               help="The tree's format, when its name does not say it.")
NAMES_OPT = typer.Option(None, "--names", metavar="FILE",
                         help="Leaf names, one a line (for Newick trees "
                              "labelled by name).")
DATASET_OPT = typer.Option(None, "--dataset", metavar="NAME", help="HDF5 dataset [logits].")
COLUMN_OPT = typer.Option(None, "--column", metavar="NAME", help="Parquet column.")
KEY_OPT = typer.Option(None, "--key", metavar="NAME",
                       help="Array in an .npz, .safetensors or .pt file "
                            "(default: logits, or the only one).")
N_CLASSES_OPT = typer.Option(None, "--n-classes", metavar="K", min=1,
                             help="Number of classes of sparse (top-k) logits, when the "
                                  "file does not say it.")
INDICES_OPT = typer.Option(None, "--indices", metavar="NAME",
                           help="Sparse logits: the array or column of "
                                "column indices (default: indices).")
VALUES_OPT = typer.Option(None, "--values", metavar="NAME",
                          help="Sparse logits: the array or column of "
                               "values (default: values).")
LABELS_OPT = typer.Option([], "--labels", "-l", metavar="FILE",
                          help="Labels: .npy, .txt/.csv, .h5 or .parquet; FILE#NAME picks a "
                               "dataset or column. Repeat for several levels.")



class InputKind(str, Enum):
    logits = "logits"
    probs = "probs"


class Aggregate(str, Enum):
    sum = "sum"
    mean = "mean"
    min = "min"
    max = "max"


class Strategy(str, Enum):
    lowest = "lowest"
    all_pairs = "all-pairs"


def _version(value: bool) -> None:
    if value:
        typer.echo(f"l2h {__version__}")
        raise typer.Exit()


@app.callback()
def main_options(
    quiet: bool = typer.Option(False, "--quiet", "-q", help="Only errors on stderr."),
    verbose: int = typer.Option(0, "--verbose", "-v", count=True,
                                help="More detail; -v shows tracebacks of unexpected errors."),
    version: bool = typer.Option(False, "--version", callback=_version, is_eager=True,
                                 help="Print the version and exit."),
) -> None:
    state["quiet"], state["verbose"] = quiet, verbose


@app.command()
def build(
    input: List[str] = typer.Argument(..., metavar="INPUT",
                                      help="Logits: .npy, .h5, .parquet, .npz, "
                                           ".safetensors, .pt, - for an .npy stream on "
                                           "stdin, or shards: several files, a folder "
                                           "or a quoted glob."),
    output: List[str] = typer.Option(..., "--output", "-o", metavar="FILE",
                                     help="Output by extension: .nwk/.newick (Newick), .json "
                                          "(l2h tree), .npy (scipy linkage); - is Newick on "
                                          "stdout. Repeat for several."),
    names: Optional[Path] = NAMES_OPT,
    dataset: Optional[str] = DATASET_OPT,
    column: Optional[str] = COLUMN_OPT,
    key: Optional[str] = KEY_OPT,
    n_classes: Optional[int] = N_CLASSES_OPT,
    indices: Optional[str] = INDICES_OPT,
    values: Optional[str] = VALUES_OPT,
    input_kind: InputKind = typer.Option(InputKind.logits, "--input", metavar="logits|probs",
                                         help="Whether INPUT holds logits or probabilities."),
    aggregate: Aggregate = typer.Option(Aggregate.sum, "--aggregate",
                                        help="How a group's score combines its clusters' "
                                             "mean confidences."),
    strategy: Strategy = typer.Option(Strategy.lowest, "--strategy",
                                      help="lowest: merge the lowest-scoring group (L2H); "
                                           "all-pairs: the best of every ordered pair."),
    temperature: float = typer.Option(1.0, "--temperature", metavar="T",
                                      help="Take every softmax of logits / T (T > 0)."),
    keep_absent: bool = typer.Option(False, "--keep-absent",
                                     help="Keep columns without any finite logit as leaves "
                                          "(placed by the empty-cluster rule) instead of "
                                          "leaving them out."),
    memory: str = typer.Option("2G", "--memory", metavar="SIZE",
                               help="Memory budget; beyond it, rows are "
                                    "read again from INPUT or a spill file."),
    chunk_rows: Optional[int] = typer.Option(None, "--chunk-rows", metavar="N", min=1,
                                             help="Rows per block (default: from --memory)."),
    threads: int = typer.Option(2, "--threads", metavar="N", min=1, help="Worker threads."),
    stdout_fmt: TreeFormat = typer.Option(TreeFormat.newick, "--format",
                                          metavar="newick|json|linkage",
                                          help="What -o - writes to stdout."),
    dask: Optional[str] = typer.Option(None, "--dask", metavar="ADDRESS",
                                       help="Run on a Dask cluster: a scheduler address "
                                            "(tcp://host:8786), or local / local:N for N "
                                            "local worker processes. Needs l2h[dask]."),
    tmpdir: Optional[Path] = typer.Option(None, "--tmpdir", metavar="DIR", file_okay=False,
                                          exists=True,
                                          help="Folder for the spill file [TMPDIR]."),
    reread: Optional[bool] = typer.Option(None, "--reread/--spill",
                                          help="Beyond --memory, read rows again from INPUT "
                                               "(a C-ordered .npy or contiguous HDF5) or copy "
                                               "them to a spill file [default: reread when "
                                               "INPUT is at most half the RAM]."),
) -> None:
    """Build the L2H hierarchy of the clusters of a logit matrix.

    \b
    Examples:
      l2h build logits.h5 -o tree.nwk -o tree.json --names classes.txt
      l2h build topk.parquet --n-classes 131072 -o tree.json --memory 1G
      l2h build 'shards/*.npy' -o tree.json --dask local:2
    """
    with guarded():
        try:
            budget = parse_size(memory)
        except ValueError as exc:
            raise UsageError(f"--memory: {exc}") from None
        if not 0 < temperature < float("inf"):
            raise UsageError(f"--temperature must be a positive number, not {temperature}")
        formats = [(o, stdout_fmt.value if o == "-" else tree_format(o)) for o in output]
        started = time.perf_counter()
        with AtomicOutputs(output, [*input, names and str(names)], checkpoint) as outs:
            options = dict(input=input_kind.value, aggregate=aggregate.value,
                           strategy=strategy.value, memory=budget, temperature=temperature,
                           keep_absent=keep_absent)
            if dask:
                tree = _build_on_dask(input, dask, names, options, _source(locals()))
            else:
                with progress_bar() as progress, \
                        open_logits(input, **_source(locals())) as reader:
                    leaf_names = read_names(str(names), reader.n_cols) if names is not None \
                        else None
                    tree = build_hierarchy(reader, names=leaf_names, chunk_rows=chunk_rows,
                                           workers=threads, reread=reread, progress=progress,
                                           tmpdir=str(tmpdir) if tmpdir else None, **options)
            for path, fmt in formats:
                if path != "-":
                    outs.write(path, lambda fh, fmt=fmt: write_tree(tree, fh, fmt))
            if any(o == "-" for o, _ in formats):
                write_stdout(lambda fh: write_tree(tree, fh, stdout_fmt.value))
        from ..trees.margins import close_merges
        close = close_merges(tree)
        if close:
            first = ", ".join(str(m["step"]) for m in close[:5])
            warnings.warn(f"{len(close)} merge(s) were decided by a relative margin below "
                          f"1e-6 (steps {first}{' ...' if len(close) > 5 else ''}): float32 "
                          "noise in the logits could change them; l2h info TREE.json lists "
                          "them", L2HWarning)
        n_empty = int((tree.sizes == 0).sum()) if tree.sizes is not None else 0
        written = ", ".join("stdout" if o == "-" else o for o, _ in formats)
        info(f"built a {tree.n_leaves}-leaf tree from {tree.meta['n_points']} points"
             f"{f' ({n_empty} empty clusters)' if n_empty else ''} in "
             f"{time.perf_counter() - started:.2f} s; wrote {written}")


def _build_on_dask(input: List[str], address: str, names: Optional[Path], options: dict,
                   source: dict):
    from ..engine.distributed import connect
    if input == ["-"]:
        raise UsageError("--dask reads files that the workers can open, not stdin")
    client = connect(address)
    try:
        with progress_bar() as progress:
            n_cols = None
            if names is not None:
                with open_logits(input, **source) as reader:
                    n_cols = reader.n_cols
            leaf_names = read_names(str(names), n_cols) if names is not None else None
            tree = build_hierarchy(input, client=client, names=leaf_names, progress=progress,
                                   **source, **options)
    finally:
        cluster = getattr(client, "cluster", None)
        client.close()
        if cluster is not None:
            cluster.close()
    figures = tree.meta["dask"]
    info(f"dask: {figures['shards']} shard(s), {figures['steps']} steps ran "
         f"{figures['tasks']} tasks, {figures['bytes_to_client'] / 2**20:.1f} MiB to the "
         "client")
    return tree


def _source(options: dict) -> dict:
    """The reader options among a command's parameters."""
    return {name: options[name] for name in ("dataset", "column", "key", "n_classes",
                                             "indices", "values")}


def _open_levels(logits: str | List[str], labels: List[str]) -> list:
    """The label levels: --labels, else the `labels` dataset of a single HDF5 LOGITS."""
    from ..evaluation.labels import read_labels
    specs = list(labels)
    one = logits if isinstance(logits, str) else logits[0] if len(logits) == 1 else ""
    if not specs and one and format_of(one, "logits") == "hdf5":
        specs = [one + "#labels"]
    if not specs:
        raise UsageError("give the ground truth with --labels FILE (repeat for several levels)")
    return [read_labels(spec) for spec in specs]


@app.command()
def evaluate(
    tree: str = TREE_ARG,
    tree_fmt: Optional[TreeFormat] = TREE_FORMAT_OPT,
    logits: List[str] = typer.Argument(..., metavar="LOGITS",
                                       help="Logits of the evaluated points (any input "
                                            "format, or shards)."),
    labels: List[str] = LABELS_OPT,
    names: Optional[Path] = NAMES_OPT,
    dataset: Optional[str] = DATASET_OPT,
    column: Optional[str] = COLUMN_OPT,
    key: Optional[str] = KEY_OPT,
    n_classes: Optional[int] = N_CLASSES_OPT,
    indices: Optional[str] = INDICES_OPT,
    values: Optional[str] = VALUES_OPT,
    json_out: Optional[str] = typer.Option(None, "--json", metavar="FILE",
                                           help="Also write the metrics as JSON (- for "
                                                "stdout)."),
    others: List[str] = typer.Option([], "--tree", "-t", metavar="TREE",
                                     help="Another tree to evaluate on the same points, side "
                                          "by side (l2h's, CoHiClust's, scipy's, any Newick). "
                                          "Repeat for several."),
) -> None:
    """NMI, ARI, ACC, leaf and dendrogram purity, and LHD of a tree on labelled points.

    \b
    Examples:
      l2h evaluate tree.json test.npy --labels y.npy --labels superclass.npy
      l2h evaluate other.nwk test.npy --names classes.txt --labels y.txt --json m.json
      l2h evaluate l2h.json test.npy --labels y.npy --tree cohiclust.nwk --tree linkage.npy
    """
    from ..evaluation.evaluate import columns_to_leaves, evaluate_levels, leaf_blocks
    from ..evaluation.labels import split_spec
    from .tables import compare_table, metrics_table, strict_json
    from ..trees.treeio import load_tree

    with guarded():
        targets = [json_out] if json_out else []
        paths = [tree, *others]
        inputs = [*paths, *logits, names and str(names)] + \
            [split_spec(spec)[0] for spec in labels]
        with AtomicOutputs(targets, inputs, checkpoint) as outs:
            leaf_names = read_names(str(names)) if names else None
            trees = [load_tree(p, leaf_names, tree_fmt and tree_fmt.value) for p in paths]
            levels = _open_levels(logits, labels)
            # The argmax columns once; each tree maps them to its own leaves.
            with progress_bar() as progress, open_logits(logits, **_source(locals())) as reader:
                columns = np.concatenate(list(leaf_blocks(reader, progress=progress)))
                n_cols, shown = reader.n_cols, reader.path
            reports = []
            for path, the_tree in zip(paths, trees):
                leaf = columns_to_leaves(the_tree, columns, n_cols, shown)
                reports.append({"tree": path, "logits": " ".join(logits),
                                "n_points": int(len(leaf)), "n_leaves": the_tree.n_leaves,
                                "levels": evaluate_levels(the_tree, leaf, levels)})
            if len(paths) == 1:
                report: dict = reports[0]
                table = (f"{tree} on {shown}: {len(columns)} points, {trees[0].n_leaves} "
                         "leaves\n" + metrics_table(report["levels"]) + "\n")
            else:
                report = {"logits": " ".join(logits), "n_points": int(len(columns)),
                          "trees": reports}
                table = (f"{len(paths)} trees on {shown}: {len(columns)} points\n"
                         + compare_table(reports) + "\n")
            text = strict_json(report, indent=2) + "\n"
            if json_out == "-":
                info(table.rstrip("\n"))
                write_stdout(lambda fh: fh.write(text.encode()))
            else:
                if json_out:
                    outs.write(json_out, lambda fh: fh.write(text.encode()))
                write_stdout(lambda fh: fh.write(table.encode()))


@app.command()
def cut(
    tree: str = TREE_ARG,
    tree_fmt: Optional[TreeFormat] = TREE_FORMAT_OPT,
    logits: Optional[List[str]] = typer.Argument(None, metavar="LOGITS",
                                                 help="Logits (or shards): give to get "
                                                      "the group of every point "
                                                      "instead of every leaf."),
    k: List[str] = typer.Option(..., "--k", "-k", metavar="K",
                                help="Number of groups, or auto (the best suggested level, "
                                     "measured on LOGITS); repeat for several."),
    output: List[str] = typer.Option(["-"], "--output", "-o", metavar="FILE",
                                     help=".npy, .csv, .txt or - (stdout). One for all k "
                                          "(a column each) or one per --k."),
    names: Optional[Path] = NAMES_OPT,
    dataset: Optional[str] = DATASET_OPT,
    column: Optional[str] = COLUMN_OPT,
    key: Optional[str] = KEY_OPT,
    n_classes: Optional[int] = N_CLASSES_OPT,
    indices: Optional[str] = INDICES_OPT,
    values: Optional[str] = VALUES_OPT,
) -> None:
    """The flat clustering after the first K-k merges, for leaves or for points.

    Groups are numbered 0..k-1 in the order of their smallest leaf id.

    \b
    Examples:
      l2h cut tree.json --k 20 -o leaf_groups.csv
      l2h cut tree.json --k 20 --k 5 test.npy -o point_groups.npy
      l2h build x.npy -o - --format json | l2h cut - --k 5
    """
    from ..evaluation.partition import partition_format
    from ..trees.treeio import load_tree

    with guarded():
        if len(output) not in (1, len(k)):
            raise UsageError(f"{len(output)} outputs for {len(k)} values of --k: give one "
                             "output, or one per --k")
        formats = [partition_format(o) for o in output]
        with AtomicOutputs(output, [tree, *(logits or []), names and str(names)],
                           checkpoint) as outs:
            the_tree = load_tree(tree, read_names(str(names)) if names else None,
                                 tree_fmt and tree_fmt.value)
            source = _source(locals())
            k = [_k_value(kk, the_tree, logits, source) for kk in k]
            table = np.stack([the_tree.cut(kk) for kk in k], axis=1)
            jobs = ([(output[0], formats[0], list(range(len(k))))] if len(output) == 1
                    else [(o, f, [i]) for i, (o, f) in enumerate(zip(output, formats))])
            # Files first, stdout last: a broken pipe then fails the run before any commit.
            jobs.sort(key=lambda job: job[0] == "-")
            with progress_bar() as progress:
                for path, fmt, cols in jobs:
                    fill = _cut_writer(the_tree, table[:, cols], [k[i] for i in cols], fmt,
                                       logits, _source(locals()), progress)
                    if path == "-":
                        write_stdout(fill)
                    else:
                        outs.write(path, fill)


def _cut_writer(tree, groups, ks, fmt, logits, source, progress):
    """A function writing one cut output: per leaf, or per point of LOGITS (streamed)."""
    from ..evaluation.evaluate import leaf_blocks
    from ..evaluation.partition import write_partition

    def fill(fh) -> None:
        if not logits:
            write_partition(fh, fmt, tree.n_leaves, ks, [(np.arange(tree.n_leaves), groups)],
                            ["leaf", "name"], tree.names)
            return
        with open_logits(logits, **source) as reader:
            def blocks():
                start = 0
                for a in leaf_blocks(reader, tree, progress=progress):
                    yield np.arange(start, start + len(a)), groups[a]
                    start += len(a)
            write_partition(fh, fmt, reader.n_rows, ks, blocks(), ["point"])

    return fill


def _k_value(text: str, tree, logits: Optional[List[str]], source: dict) -> int:
    if text != "auto":
        try:
            return int(text)
        except ValueError:
            raise UsageError(f"--k must be a number of groups or auto, not {text!r}") from None
    if not logits:
        raise UsageError("--k auto measures the levels on logits: give LOGITS")
    from ..evaluation.levels import merge_gains, suggest_levels
    with open_logits(logits, **source) as reader:
        gains, _ = merge_gains(tree, reader)
    best = suggest_levels(gains, tree.n_leaves, top=1)
    if not best:
        raise UsageError("the tree is too small to suggest a level")
    info(f"--k auto: {best[0]['k']} groups (score {best[0]['score']:.2f})")
    return int(best[0]["k"])


@app.command()
def levels(
    tree: str = TREE_ARG,
    tree_fmt: Optional[TreeFormat] = TREE_FORMAT_OPT,
    logits: List[str] = typer.Argument(..., metavar="LOGITS",
                                       help="Logits to measure the levels on (held-out points "
                                            "are best)."),
    top: int = typer.Option(5, "--top", min=1, metavar="N", help="How many levels to list."),
    max_rows: int = typer.Option(20_000, "--rows", min=1, metavar="N",
                                 help="Rows sampled from LOGITS (seeded)."),
    names: Optional[Path] = NAMES_OPT,
    dataset: Optional[str] = DATASET_OPT,
    column: Optional[str] = COLUMN_OPT,
    key: Optional[str] = KEY_OPT,
    as_json: bool = typer.Option(False, "--json", help="Print JSON instead of text."),
) -> None:
    """Suggest the numbers of groups at which the tree has natural levels (docs/levels.md).

    \b
    Examples:
      l2h levels tree.json test_logits.npy
      l2h cut tree.json --k auto test_logits.npy -o groups.npy
    """
    from ..evaluation.levels import merge_gains, suggest_levels
    from ..trees.treeio import load_tree
    from .tables import strict_json

    with guarded():
        the_tree = load_tree(tree, read_names(str(names)) if names else None,
                             tree_fmt and tree_fmt.value)
        with open_logits(logits, dataset, column, key=key) as reader:
            gains, base = merge_gains(the_tree, reader, max_rows)
        suggested = suggest_levels(gains, the_tree.n_leaves, top)
        if as_json:
            text = strict_json({"tree": tree, "levels": suggested}) + "\n"
        else:
            text = "k      score  (log ratio of the confusion absorbed before and after k)\n" \
                + "".join(f"{s['k']:<6} {s['score']:.3f}\n" for s in suggested)
        write_stdout(lambda fh: fh.write(text.encode()))


@app.command("info")
def info_command(
    path: List[str] = typer.Argument(..., metavar="INPUT",
                                     help="A logit file (any input format, or -), shards, or "
                                          "an l2h JSON tree (its close merges are listed)."),
    dataset: Optional[str] = DATASET_OPT,
    column: Optional[str] = COLUMN_OPT,
    key: Optional[str] = KEY_OPT,
    n_classes: Optional[int] = N_CLASSES_OPT,
    indices: Optional[str] = INDICES_OPT,
    values: Optional[str] = VALUES_OPT,
    as_json: bool = typer.Option(False, "--json", help="Print JSON instead of text."),
) -> None:
    """Describe a logit file: format, shape, dtype, chunking, and argmax cluster sizes.

    \b
    Examples:
      l2h info logits.parquet
      l2h info shards/ --json
    """
    from ..evaluation.evaluate import leaf_blocks
    from .tables import strict_json

    with guarded():
        if len(path) == 1 and path[0].lower().endswith(".json"):
            _tree_info(path[0], as_json)
            return
        with progress_bar() as progress, open_logits(path, **_source(locals())) as reader:
            described = reader.info()
            sizes = np.zeros(reader.n_cols, dtype=np.int64)
            for a in leaf_blocks(reader, progress=progress):
                sizes += np.bincount(a, minlength=reader.n_cols)
        empty = np.flatnonzero(sizes == 0).tolist()
        described.update(cluster_sizes=sizes.tolist(), empty_clusters=empty)
        if as_json:
            write_stdout(lambda fh: fh.write((strict_json(described) + "\n").encode()))
            return
        lines = [f"{key}: {value}" for key, value in described.items()
                 if key not in ("cluster_sizes", "empty_clusters")]
        lines.append(f"argmax cluster sizes: min {sizes.min()}, median "
                     f"{int(np.median(sizes))}, max {sizes.max()}")
        lines.append(f"empty clusters: {len(empty)}" + (f" ({', '.join(map(str, empty[:50]))}"
                                                         f"{' ...' if len(empty) > 50 else ''})"
                                                         if empty else ""))
        cells = [f"{c}:{s}" + ("!" if s == 0 else "") for c, s in enumerate(sizes)]
        lines.append("sizes (cluster:points, ! = empty):")
        for i in range(0, len(cells), 10):
            lines.append("  " + "  ".join(cells[i:i + 10]))
        write_stdout(lambda fh: fh.write(("\n".join(lines) + "\n").encode()))


def _tree_info(path: str, as_json: bool) -> None:
    """A tree's shape, and its merges whose decision margins are below CLOSE_MARGIN."""
    from ..trees.margins import close_merges
    from .tables import strict_json
    from ..trees.treeio import load_tree
    tree = load_tree(path)
    close = close_merges(tree)
    described = {"path": path, "format": "l2h-tree", "n_leaves": tree.n_leaves,
                 "n_merges": len(tree.children), "absent_columns": 0 if tree.absent is None
                 else len(tree.absent), **{k: v for k, v in tree.meta.items()
                                            if k in ("aggregate", "strategy", "n_points")},
                 "close_merges": close}
    if as_json:
        write_stdout(lambda fh: fh.write((strict_json(described) + "\n").encode()))
        return
    lines = [f"{key}: {value}" for key, value in described.items() if key != "close_merges"]
    lines.append(f"merges with a decision margin below 1e-6: {len(close)}")
    lines += [f"  step {m['step']} (node {m['node']}): margin_low {m['margin_low']:.3g}, "
              f"margin_best {m['margin_best']:.3g}" for m in close[:50]]
    write_stdout(lambda fh: fh.write(("\n".join(lines) + "\n").encode()))


def _leaf_label_counts(tree, logits: str, labels: List[str], source: dict):
    """Labelled points per leaf (for purity), from LOGITS and the first --labels."""
    from ..evaluation.evaluate import leaf_label_counts, point_leaves

    if len(labels) > 1:
        raise UsageError("one --labels only: purity is shown for one label level")
    level = _open_levels(logits, labels)[0]
    with open_logits(logits, **source) as reader:
        leaf = point_leaves(reader, tree)
    return leaf_label_counts(leaf, level, tree.n_leaves), [str(c) for c in level.classes]


@app.command()
def show(
    tree: str = TREE_ARG,
    tree_fmt: Optional[TreeFormat] = TREE_FORMAT_OPT,
    logits: Optional[str] = typer.Argument(None, metavar="LOGITS",
                                           help="Logits of labelled points, with "
                                                "--labels, to show purity."),
    labels: List[str] = LABELS_OPT,
    names: Optional[Path] = NAMES_OPT,
    depth: Optional[int] = typer.Option(None, "--depth", metavar="N", min=1,
                                        help="Open every node down to this depth."),
    lines: int = typer.Option(60, "--lines", metavar="N", min=2,
                              help="Without --depth: open the biggest "
                                   "nodes first, within this many lines."),
    dataset: Optional[str] = DATASET_OPT,
    column: Optional[str] = COLUMN_OPT,
    key: Optional[str] = KEY_OPT,
    n_classes: Optional[int] = N_CLASSES_OPT,
    indices: Optional[str] = INDICES_OPT,
    values: Optional[str] = VALUES_OPT,
) -> None:
    """The tree in the terminal: sizes, mean confidence, purity; big parts collapsed.

    \b
    Examples:
      l2h show tree.json
      l2h show tree.json test.npy --labels y.npy --depth 3
    """
    from rich.console import Console
    from rich.text import Text

    from ..views.layout import node_stats
    from ..views.show import text_lines
    from ..trees.treeio import load_tree

    with guarded():
        the_tree = load_tree(tree, read_names(str(names)) if names else None,
                             tree_fmt and tree_fmt.value)
        counts = classes = None
        if logits is not None:
            counts, classes = _leaf_label_counts(the_tree, logits, labels, _source(locals()))
            # Show the evaluated points, so sizes and purities describe the same points.
            the_tree.sizes = np.bincount(counts.leaf, weights=counts.count,
                                         minlength=the_tree.n_leaves).astype(np.int64)
            the_tree.confidences = None
        styles = {"name": "bold", "count": "cyan", "dim": "dim", "": ""}
        terminal = Console(highlight=False)
        out = Console(highlight=False, file=io.StringIO(), force_terminal=terminal.is_terminal,
                      no_color=not terminal.is_terminal, soft_wrap=True)
        for line in text_lines(the_tree, node_stats(the_tree, counts), classes,
                               max_lines=lines, depth=depth):
            out.print(Text.assemble(*((text, styles[style]) for text, style in line)))
        write_stdout(lambda fh: fh.write(out.file.getvalue().encode()))


@app.command()
def render(
    tree: str = TREE_ARG,
    tree_fmt: Optional[TreeFormat] = TREE_FORMAT_OPT,
    logits: Optional[str] = typer.Argument(None, metavar="LOGITS",
                                           help="Logits of labelled points, with "
                                                "--labels, to show leaf purity."),
    output: List[str] = typer.Option(..., "--output", "-o", metavar="FILE",
                                     help=".png, .svg, .pdf (need l2h[plot]) or .html (a "
                                          "self-contained page). Repeat for several."),
    color_by: Optional[Path] = typer.Option(None, "--color-by", metavar="FILE",
                                            help="One group name per leaf, to colour leaves."),
    labels: List[str] = LABELS_OPT,
    names: Optional[Path] = NAMES_OPT,
    layout: str = typer.Option("auto", "--layout", metavar="NAME",
                               help="auto (circular past 150 tips), rectangular or circular."),
    max_leaves: str = typer.Option("100", "--max-leaves", metavar="N|all",
                                   help="Figures: cut the tree to at most N tips, each "
                                        "subtree below the cut drawn as one triangle; "
                                        "'all' draws every leaf."),
    title: Optional[str] = typer.Option(None, "--title", metavar="TEXT",
                                        help="Title of the HTML page."),
    dataset: Optional[str] = DATASET_OPT,
    column: Optional[str] = COLUMN_OPT,
    key: Optional[str] = KEY_OPT,
    n_classes: Optional[int] = N_CLASSES_OPT,
    indices: Optional[str] = INDICES_OPT,
    values: Optional[str] = VALUES_OPT,
) -> None:
    """Draw the tree: a dendrogram figure, or an interactive page that works offline.

    Figures show at most --max-leaves tips (100): each subtree below that cut is one
    triangle, labelled with its size and its biggest leaves.

    \b
    Examples:
      l2h render tree.json -o tree.png -o tree.html
      l2h render tree.json --color-by groups.txt -o tree.svg --layout circular
      l2h render tree.json --max-leaves all --layout rectangular -o every_leaf.pdf
    """
    from ..trees.treeio import load_tree

    with guarded():
        if layout not in ("auto", "rectangular", "circular"):
            raise UsageError(f"--layout must be auto, rectangular or circular, not {layout!r}")
        if max_leaves != "all" and not (max_leaves.isdigit() and int(max_leaves) >= 2):
            raise UsageError(f"--max-leaves must be a number of at least 2, or all, "
                             f"not {max_leaves!r}")
        formats = [format_of(path, "pictures") for path in output]
        if any(f != "html" for f in formats):
            from ..views.render_plot import _pyplot
            _pyplot()  # fail early, before any work, when matplotlib is missing
        from ..evaluation.labels import split_spec
        outs = AtomicOutputs(output, [tree, logits, names and str(names), color_by and
                                      str(color_by)] + [split_spec(x)[0] for x in labels],
                             checkpoint)
        the_tree = load_tree(tree, read_names(str(names)) if names else None,
                             tree_fmt and tree_fmt.value)
        groups = None
        if color_by is not None:
            groups = read_names_raw(str(color_by), the_tree.n_leaves, what="group lines")
        counts = classes = None
        if logits is not None:
            counts, classes = _leaf_label_counts(the_tree, logits, labels, _source(locals()))
        from ..views.layout import node_stats
        stats = node_stats(the_tree, counts)
        with outs:
            for path, fmt in zip(output, formats):
                if fmt == "html":
                    from ..views.render_html import page
                    text = page(the_tree, stats, title or os.path.basename(tree), groups,
                                classes)
                    outs.write(path, lambda fh, text=text: fh.write(text.encode("utf-8")))
                else:
                    from ..views.render_plot import render_figure
                    circular = None if layout == "auto" else layout == "circular"
                    outs.write(path, lambda fh, fmt=fmt: render_figure(
                        the_tree, fh, fmt, stats, groups, classes, circular,
                        None if max_leaves == "all" else int(max_leaves)))
        info(f"wrote {', '.join(output)}")


def _tune_malloc() -> None:
    """Keep large freed blocks in the heap for reuse: fresh pages from mmap cost a page fault
    each, which made up a third of a build's time. glibc only; elsewhere a no-op."""
    import ctypes
    try:
        libc = ctypes.CDLL("libc.so.6")
        libc.mallopt(-3, 256 * 2**20)  # M_MMAP_THRESHOLD
        libc.mallopt(-1, 512 * 2**20)  # M_TRIM_THRESHOLD
    except (OSError, AttributeError):
        pass


def main() -> None:
    _tune_malloc()
    run(app, "l2h")


def console() -> None:
    """The `l2h` console script: main(), then leave without tearing the interpreter down.

    By the time main() returns, every output is renamed into place or removed and every
    worker pool and Dask cluster is closed; what a normal exit would still do is collect
    and free numba's and LLVM's objects, about 0.35 s of every run. So stdout and stderr
    are flushed and the process ends with main's exit code. Exceptions main() lets through
    (unexpected failures) take the normal exit and its traceback."""
    try:
        main()
        code = 0
    except SystemExit as exc:
        if not isinstance(exc.code, (int, type(None))):
            raise
        code = exc.code or 0
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except (OSError, ValueError):  # a closed pipe or stream: nothing more to say
            pass
    os._exit(code)
