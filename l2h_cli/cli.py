"""The `l2h` command: a thin layer over the library."""

from __future__ import annotations

import sys
import time
from enum import Enum
from pathlib import Path
from typing import List, Optional

import typer

from . import __version__
from .build import build_hierarchy, parse_size
from .console import err, guarded, info, progress_bar, state
from .errors import UsageError
from .outputs import AtomicOutputs
from .readers import open_logits
from .treeio import read_names, tree_format, write_tree

app = typer.Typer(add_completion=False, no_args_is_help=True, pretty_exceptions_enable=False,
                  help="Logits to Hierarchies: build, evaluate and cut a hierarchy of a flat "
                       "model's clusters from its logits.")


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
    input: str = typer.Argument(..., help="Logits: .npy, .h5/.hdf5, .parquet, or - for an .npy "
                                          "stream on stdin."),
    output: List[str] = typer.Option(..., "--output", "-o",
                                     help="Output by extension: .nwk/.newick (Newick), .json "
                                          "(l2h tree), .npy (scipy linkage); - is Newick on "
                                          "stdout. Repeat for several."),
    names: Optional[Path] = typer.Option(None, "--names", help="Leaf names, one a line."),
    dataset: Optional[str] = typer.Option(None, "--dataset", help="HDF5 dataset [logits]."),
    column: Optional[str] = typer.Option(None, "--column", help="Parquet column."),
    input_kind: InputKind = typer.Option(InputKind.logits, "--input",
                                         help="Whether INPUT holds logits or probabilities."),
    aggregate: Aggregate = typer.Option(Aggregate.sum, "--aggregate",
                                        help="How a group's score combines its clusters' "
                                             "mean confidences."),
    strategy: Strategy = typer.Option(Strategy.lowest, "--strategy",
                                      help="lowest: merge the lowest-scoring group (L2H); "
                                           "all-pairs: the best of every ordered pair."),
    memory: str = typer.Option("2G", "--memory", help="Memory budget; rows beyond it are "
                                                      "spilled to a temporary file."),
    chunk_rows: Optional[int] = typer.Option(None, "--chunk-rows", min=1,
                                             help="Rows per block (default: from --memory)."),
    threads: int = typer.Option(2, "--threads", min=1, help="Worker threads."),
) -> None:
    """Build the L2H hierarchy of the clusters of a logit matrix."""
    with guarded():
        try:
            budget = parse_size(memory)
        except ValueError as exc:
            raise UsageError(f"--memory: {exc}") from None
        formats = [(o, "newick" if o == "-" else tree_format(o)) for o in output]
        if sum(o == "-" for o, _ in formats) > 1:
            raise UsageError("-o - (stdout) given more than once")
        started = time.perf_counter()
        with progress_bar() as progress, open_logits(input, dataset, column) as reader:
            leaf_names = read_names(str(names), reader.n_cols) if names is not None else None
            tree = build_hierarchy(reader, input=input_kind.value, aggregate=aggregate.value,
                                   strategy=strategy.value, names=leaf_names, memory=budget,
                                   chunk_rows=chunk_rows, workers=threads, progress=progress)
        with AtomicOutputs() as outs:
            for path, fmt in formats:
                if path != "-":
                    outs.write(path, lambda fh, fmt=fmt: write_tree(tree, fh, fmt))
        if any(o == "-" for o, _ in formats):
            write_tree(tree, sys.stdout.buffer, "newick")
            sys.stdout.flush()
        n_empty = int((tree.sizes == 0).sum()) if tree.sizes is not None else 0
        written = ", ".join("stdout" if o == "-" else o for o, _ in formats)
        info(f"built a {tree.n_leaves}-leaf tree from {tree.meta['n_points']} points"
             f"{f' ({n_empty} empty clusters)' if n_empty else ''} in "
             f"{time.perf_counter() - started:.2f} s; wrote {written}")


def main() -> None:
    app(prog_name="l2h")
