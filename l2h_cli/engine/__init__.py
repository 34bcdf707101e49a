"""The build: per-block kernels, where the rows are kept, the merge loop, and its backends."""
