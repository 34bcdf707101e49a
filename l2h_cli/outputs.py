"""Output files that appear whole or not at all: written under a temporary name beside the
target and renamed only when every output of the run is ready."""

from __future__ import annotations

import os
import tempfile
from typing import Callable, IO


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


class AtomicOutputs:
    def __init__(self) -> None:
        self._pending: list[tuple[str, str]] = []

    def write(self, target: str, fill: Callable[[IO[bytes]], None]) -> None:
        folder = os.path.dirname(os.path.abspath(target))
        if not os.path.isdir(folder):
            from .errors import UsageError
            raise UsageError(f"{target}: the folder {folder} does not exist")
        fd, tmp = tempfile.mkstemp(dir=folder, prefix="." + os.path.basename(target) + ".",
                                   suffix=".part")
        self._pending.append((tmp, target))
        os.chmod(tmp, 0o666 & ~_umask())
        with os.fdopen(fd, "wb") as fh:
            fill(fh)

    def commit(self) -> None:
        for tmp, target in self._pending:
            os.replace(tmp, target)
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
