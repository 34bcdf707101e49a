"""Terminal plumbing for the CLI: the stderr console, warnings, progress bars, error exits.

The core never imports this module; it reports progress through a plain callback.
"""

from __future__ import annotations

import signal
import sys
import warnings
from contextlib import contextmanager
from typing import Callable, Iterator

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from .errors import L2HError

err = Console(stderr=True, highlight=False)
state = {"quiet": False, "verbose": 0}

STAGES = {"read": "reading rows", "merge": "merging", "evaluate": "reading rows",
          "cut": "reading rows"}


def info(message: str) -> None:
    if not state["quiet"]:
        err.print(message, markup=False, soft_wrap=True)


def print_table(table: object, stderr: bool = False) -> None:
    """Tables keep their columns when piped: rich would squeeze them to 80 characters."""
    out = err if stderr else Console(highlight=False)
    if not out.is_terminal:
        out = Console(stderr=stderr, highlight=False, width=160)
    out.print(table)


def _show_warning(message, category, filename, lineno, file=None, line=None) -> None:
    if state["quiet"]:
        return
    err.print(f"warning: {message}", style="yellow", markup=False, soft_wrap=True)


def _terminate(signum, frame) -> None:
    raise KeyboardInterrupt


@contextmanager
def guarded() -> Iterator[None]:
    """Turn l2h errors into one stderr line and their exit code; no tracebacks for users."""
    warnings.showwarning = _show_warning
    warnings.simplefilter("always")
    signal.signal(signal.SIGTERM, _terminate)
    try:
        yield
    except typer.Exit:
        raise
    except L2HError as exc:
        err.print(f"error: {exc}", style="red", markup=False, soft_wrap=True)
        raise typer.Exit(exc.exit_code) from None
    except KeyboardInterrupt:
        err.print("interrupted; no output written", style="red")
        raise typer.Exit(130) from None
    except BrokenPipeError:
        sys.stderr.close()
        raise typer.Exit(0) from None
    except MemoryError:
        err.print("error: out of memory; lower --memory or --chunk-rows", style="red")
        raise typer.Exit(1) from None
    except Exception as exc:  # the last line of defence, so users never see a traceback
        if state["verbose"]:
            err.print_exception()
        err.print(f"error: unexpected failure: {type(exc).__name__}: {exc} "
                  "(run with -v for the traceback)", style="red", markup=False)
        raise typer.Exit(1) from None


@contextmanager
def progress_bar() -> Iterator[Callable[[str, int, int], None]]:
    """A progress callback for the core, drawn on stderr only when it is a terminal."""
    bar = Progress(TextColumn("{task.description:<14}"), BarColumn(), MofNCompleteColumn(),
                   TimeElapsedColumn(), console=err, transient=True,
                   disable=state["quiet"] or not err.is_terminal)
    tasks: dict[str, int] = {}

    def update(stage: str, done: int, total: int) -> None:
        if stage not in tasks:
            tasks[stage] = bar.add_task(STAGES.get(stage, stage), total=total)
        bar.update(tasks[stage], completed=done)

    with bar:
        yield update
