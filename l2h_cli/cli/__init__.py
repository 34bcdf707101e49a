"""The `l2h` command: a thin layer over the library."""

import os

# The command does no linear algebra worth threads, but NumPy's and SciPy's OpenBLAS (numba
# loads SciPy's to look for BLAS) each start a pool of a thread a core, which spin for a
# while once loaded: about 0.2 s of CPU in every run on two cores, taken from the build's
# workers. Set before NumPy is imported; a value the user chose stands. Library users are
# not affected.
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

from .app import app, console, main  # noqa: E402

__all__ = ["app", "console", "main"]
