"""Terminal plumbing for the CLI: the stderr console, warnings, progress bars, signals, and
the mapping of library errors to exit codes.

The core never imports this module; it reports progress through a plain callback, which is
also where a pending interrupt is honoured (between row blocks and merge steps).
"""

from __future__ import annotations

import os
import signal
import sys
import warnings
from contextlib import contextmanager
from typing import BinaryIO, Callable, Iterator

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from ..errors import InputError, L2HError, OutputError, UsageError

err = Console(stderr=True, highlight=False)
state = {"quiet": False, "verbose": 0}

STAGES = {"read": "reading rows", "merge": "merging", "evaluate": "reading rows",
          "cut": "reading rows"}

#: Exit codes of docs/errors.md, by error class (most specific first).
EXIT_CODES = ((UsageError, 2), (InputError, 3), (L2HError, 1))
EXIT_SIGNAL = {signal.SIGINT: 130, signal.SIGTERM: 143}

_signals: list[int] = []


def say(message: str, style: str | None = None) -> None:
    """One line on stderr, never wrapped (pipes and log files get it whole)."""
    err.print(message, style=style, markup=False, soft_wrap=True, highlight=False)


def info(message: str) -> None:
    if not state["quiet"]:
        say(message)


def _show_warning(message, category, filename, lineno, file=None, line=None) -> None:
    if not state["quiet"]:
        say(f"warning: {message}", "yellow")


def _on_signal(signum: int, frame: object) -> None:
    """The first SIGINT/SIGTERM is only noted and acted on at the next checkpoint: raising in
    the middle of a reader's C callback (h5py's filters) gets the exception swallowed. A
    second one stops at once."""
    _signals.append(signum)
    if len(_signals) > 1:
        raise KeyboardInterrupt


def checkpoint() -> None:
    """Stop here if an interrupt is pending."""
    if _signals:
        raise KeyboardInterrupt


def _message(exc: L2HError) -> str:
    text = str(exc)
    if exc.option:
        text += f" (see --{exc.option})"
    return text


@contextmanager
def guarded() -> Iterator[None]:
    """Turn l2h errors into one stderr line and their exit code; no tracebacks for users."""
    warnings.showwarning = _show_warning
    warnings.simplefilter("always")
    for sig in EXIT_SIGNAL:
        signal.signal(sig, _on_signal)
    try:
        yield
        checkpoint()
    except typer.Exit:
        raise
    except L2HError as exc:
        say(f"error: {_message(exc)}", "red")
        raise typer.Exit(next(code for cls, code in EXIT_CODES if isinstance(exc, cls))) \
            from None
    except KeyboardInterrupt:
        say("interrupted; no output written", "red")
        raise typer.Exit(EXIT_SIGNAL.get(_signals[0] if _signals else signal.SIGINT, 130)) \
            from None
    except MemoryError:
        say("error: out of memory", "red")
        raise typer.Exit(1) from None
    except Exception as exc:  # the last line of defence, so users never see a traceback
        if state["verbose"]:
            err.print_exception()
        say(f"error: unexpected failure: {type(exc).__name__}: {exc} "
            "(run with -v for the traceback)", "red")
        raise typer.Exit(1) from None


def write_stdout(fill: Callable[[BinaryIO], None]) -> None:
    """Run `fill` on stdout and flush; a broken or full stdout is an OutputError (so the run
    fails and its files are not committed), and the interpreter's own last flush is silenced."""
    if sys.stdout is None:  # the shell closed it
        raise OutputError("cannot write to stdout: it is closed")
    out = sys.stdout.buffer
    try:
        fill(out)
        out.flush()
    except OSError as exc:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        os.close(devnull)
        raise OutputError(f"cannot write to stdout ({exc.strerror or exc})") from None


@contextmanager
def progress_bar() -> Iterator[Callable[[str, int, int], None]]:
    """A progress callback for the core, drawn on stderr only when it is a terminal; each call
    is also a checkpoint for interrupts."""
    bar = Progress(TextColumn("{task.description:<14}"), BarColumn(), MofNCompleteColumn(),
                   TimeElapsedColumn(), console=err, transient=True,
                   disable=state["quiet"] or not err.is_terminal)
    tasks: dict[str, int] = {}

    def update(stage: str, done: int, total: int) -> None:
        checkpoint()
        if stage not in tasks:
            tasks[stage] = bar.add_task(STAGES.get(stage, stage), total=total)
        bar.update(tasks[stage], completed=done)

    with bar:
        yield update


def run(app: typer.Typer, prog_name: str) -> None:
    """Run the Typer app with usage errors as one line (exit 2) instead of a boxed panel."""
    command = typer.main.get_command(app)
    try:
        code = command.main(args=sys.argv[1:], prog_name=prog_name, standalone_mode=False)
    except KeyboardInterrupt:
        say("interrupted", "red")
        code = 130
    except Exception as exc:
        # Typer's usage errors (a vendored click's) carry format_message() and exit_code.
        if not hasattr(exc, "format_message"):
            raise
        ctx = getattr(exc, "ctx", None)
        where = ctx.command_path if ctx is not None else prog_name
        say(f"error: {exc.format_message()} (see {where} --help)", "red")
        code = getattr(exc, "exit_code", 2)
    sys.exit(code or 0)
