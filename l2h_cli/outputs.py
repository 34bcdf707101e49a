"""Output files that appear whole or not at all.

Every target is checked before any work starts (its folder exists, it is not a directory or
a device, it is not also an input, no two outputs are the same file); each is written under a
temporary name beside its target, and all are renamed together at the end. If one rename
fails, the ones already made are undone, so earlier files at those paths come back.
"""

from __future__ import annotations

import os
import stat
import tempfile
from typing import IO, Callable, Iterable, Sequence

from .errors import OutputError, UsageError

STDOUT = "-"


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def _same_file(a: str, b: str) -> bool:
    if os.path.realpath(a) == os.path.realpath(b):
        return True
    try:
        return os.path.samefile(a, b)  # hard links, bind mounts
    except OSError:
        return False


def check_targets(targets: Sequence[str], inputs: Iterable[str | None] = ()) -> None:
    """Refuse, before any work, outputs that cannot be written or would destroy something."""
    inputs = [i for i in inputs if i and i != STDOUT]
    files = [t for t in targets if t != STDOUT]
    if len(targets) - len(files) > 1:
        raise UsageError("stdout (-) is given as an output more than once")
    for i, target in enumerate(files):
        folder = os.path.dirname(os.path.abspath(target))
        if not os.path.isdir(folder):
            raise UsageError(f"{target}: the folder {folder} does not exist")
        if not os.access(folder, os.W_OK | os.X_OK):
            raise UsageError(f"{target}: the folder {folder} is not writable")
        try:
            mode = os.stat(target).st_mode
        except FileNotFoundError:
            mode = None
        except OSError as exc:
            raise UsageError(f"{target}: cannot be written ({exc.strerror})") from None
        if mode is not None and stat.S_ISDIR(mode):
            raise UsageError(f"{target}: is a directory")
        if mode is not None and not stat.S_ISREG(mode):
            raise UsageError(f"{target}: is not a regular file (give a file path, or - for "
                             "stdout)")
        for source in inputs:
            if _same_file(target, source):
                raise UsageError(f"{target}: is also an input of this command; writing it "
                                 "would destroy it")
        for other in files[:i]:
            if _same_file(target, other):
                raise UsageError(f"{target}: given as an output twice")


class AtomicOutputs:
    """Stage outputs, then commit them all or none.

    >>> import os, tempfile
    >>> folder = tempfile.mkdtemp()
    >>> target = os.path.join(folder, "a.txt")
    >>> with AtomicOutputs([target]) as outs:
    ...     outs.write(target, lambda fh: fh.write(b"hello"))
    >>> open(target).read()
    'hello'
    """

    def __init__(self, targets: Sequence[str] = (), inputs: Iterable[str | None] = (),
                 before_commit: Callable[[], None] | None = None) -> None:
        check_targets(list(targets), inputs)
        self._pending: list[tuple[str, str]] = []
        self._before_commit = before_commit

    def write(self, target: str, fill: Callable[[IO[bytes]], None]) -> None:
        folder = os.path.dirname(os.path.abspath(target))
        try:
            fd, tmp = tempfile.mkstemp(dir=folder, prefix="." + os.path.basename(target) + ".",
                                       suffix=".part")
        except OSError as exc:
            raise OutputError(f"{target}: cannot be written ({exc.strerror})") from None
        self._pending.append((tmp, target))
        os.chmod(tmp, 0o666 & ~_umask())
        try:
            with os.fdopen(fd, "wb") as fh:
                fill(fh)
        except OSError as exc:
            raise OutputError(f"{target}: cannot be written ({exc.strerror or exc})") from None

    def commit(self) -> None:
        if self._before_commit is not None:
            self._before_commit()
        done: list[tuple[str, str | None]] = []
        try:
            for tmp, target in self._pending:
                backup = None
                if os.path.lexists(target):
                    backup = tmp + ".old"
                    try:
                        os.link(target, backup)
                    except OSError:  # no hard links here: this one cannot be restored
                        backup = None
                os.replace(tmp, target)
                done.append((target, backup))
        except OSError as exc:
            for target, backup in reversed(done):
                try:
                    if backup is not None:
                        os.replace(backup, target)
                    else:
                        os.unlink(target)
                except OSError:
                    pass
            self.abort()
            raise OutputError(f"{target}: cannot be written ({exc.strerror}); no output "
                              "was written") from None
        finally:
            for _, backup in done:
                if backup is not None and os.path.lexists(backup):
                    os.unlink(backup)
        self._pending.clear()

    def abort(self) -> None:
        for tmp, _ in self._pending:
            try:
                os.unlink(tmp)
            except FileNotFoundError:
                pass
        self._pending.clear()

    def __enter__(self) -> "AtomicOutputs":
        return self

    def __exit__(self, exc_type: object, *rest: object) -> None:
        if exc_type is None:
            self.commit()
        else:
            self.abort()
