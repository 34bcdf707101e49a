"""The build on a Dask cluster: the same merge loop, with the rows kept on the workers.

One task per shard reads it, computes each point's argmax, confidence and runner-up (the
first pass) and keeps the shard's rows on its worker grouped by argmax cluster (a future the
client holds: Dask keeps it in worker memory, spills it to the worker's disk under memory
pressure, and recomputes it from the shard if the worker is lost). Each merge step whose
`low` holds more than one cluster sends one small task to each shard holding points of those
clusters and gets back each point's restricted argmax and probability (12 bytes a point); the
client reduces them exactly as the one-machine build does, in the same order, so the merges
are the same. A step whose `low` is one cluster needs no task. Nothing here is a scheduler or
a transport: only Dask's futures.

The empty-cluster rule adds each host's probabilities per shard first; the sums can differ
from the one-machine build's in the last bits, which can change a merge only where two hosts
tie within float64 noise.
"""

from __future__ import annotations

import uuid
from typing import Any, Sequence

import numpy as np

from ..errors import InputError, UsageError
from .kernels import fast_applies, first_pass, restricted_pick, sparse_fields
from .merge import MergeLoop, Progress
from .store import ClusterIndex
from ..formats import extensions
from ..readers import open_logits
from ..readers.base import file_identity
from ..readers.shards import shard_paths

#: How long to wait for a scheduler before giving up.
CONNECT_SECONDS = 10

#: The empty-cluster rule's per-host sums are computed for this many bytes of columns at once.
EMPTY_CHUNK_BYTES = 64 * 2**20


def connect(address: str) -> Any:
    """A dask.distributed Client: `local` or `local:N` starts a LocalCluster of N worker
    processes (default 2) with one thread each; anything else is a scheduler address."""
    try:
        from dask.distributed import Client, LocalCluster
    except ImportError:
        raise UsageError("running on Dask needs dask.distributed: pip install 'l2h[dask]'") \
            from None
    if address == "local" or address.startswith("local:"):
        workers = int(address.partition(":")[2] or 2)
        cluster = LocalCluster(n_workers=workers, threads_per_worker=1, processes=True,
                               dashboard_address=None)
        return Client(cluster)
    try:
        return Client(address, timeout=CONNECT_SECONDS)
    except (OSError, TimeoutError, ValueError) as exc:
        raise UsageError(f"cannot reach a Dask scheduler at {address} ({exc})") from None


class Bucket:
    """One shard on a worker: its rows grouped by argmax column (stable, so by row within a
    column) and what the first pass learned of each point, in row order."""

    def __init__(self, path: str, options: dict, input: str, temperature: float) -> None:
        self.path = path
        self.identity = file_identity(path)
        blocks, stats = [], []
        with open_logits(path, **options) as reader:
            self.n_cols, self.sparse = reader.n_cols, reader.sparse
            present = np.zeros(reader.n_cols, dtype=bool)
            start = 0
            for block in reader.blocks(reader.default_block_rows()):
                block, part, finite = first_pass(block, start, path, reader.n_cols, input,
                                                 temperature)
                stats.append(part)
                present |= finite
                blocks.append(block)
                start += len(block)
        rows = np.concatenate(blocks) if blocks else np.empty((0, reader.row_width))
        self.labels = np.concatenate([s.cluster for s in stats]).astype(np.int64)
        self.conf = np.concatenate([s.confidence for s in stats])
        self.runner = np.concatenate([s.runner_up for s in stats])
        self.share = np.concatenate([s.share for s in stats])
        self.present = present
        order = np.argsort(self.labels, kind="stable")
        self.rows = rows[order]
        self.grouped_labels = self.labels[order]
        self.grouped_conf = self.conf[order]
        self.clusters, self.starts = np.unique(self.grouped_labels, return_index=True)
        self.stops = np.append(self.starts[1:], len(order))

    def stats(self) -> dict[str, Any]:
        return {"labels": self.labels, "conf": self.conf, "runner": self.runner,
                "share": self.share, "present": self.present, "clusters": self.clusters,
                "n_cols": self.n_cols, "identity": self.identity, "path": self.path}

    def _slice(self, c: int) -> slice:
        i = int(np.searchsorted(self.clusters, c))
        return slice(int(self.starts[i]), int(self.stops[i]))

    def picks(self, cols: np.ndarray, keep_absent: np.ndarray, fast: bool
              ) -> tuple[dict[int, tuple], bool]:
        """Step 2 of the algorithm for this shard's points of each cluster in `cols`: (r, w)
        per point; and whether the w are the fast ones (MergeLoop.picks)."""
        keep = keep_absent.copy()
        keep[cols] = False
        out = {}
        for c in cols:
            if c in self.clusters:
                part = self.rows[self._slice(int(c))]
                out[int(c)] = restricted_pick(part, np.arange(len(part)), keep, fast)
        return out, fast and fast_applies(self.rows.dtype)

    def host_sums(self, wanted_cols: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Per cluster of this shard (ascending), the probability its points give each of
        `wanted_cols`: exp(z_c - top) * conf, top being the point's argmax logit."""
        n = len(self.grouped_labels)
        if self.sparse:
            cols, vals = sparse_fields(self.rows)
            top = np.take_along_axis(vals.astype(np.float64), np.argmax(
                cols == self.grouped_labels[:, None], axis=1)[:, None], axis=1)[:, 0]
            position = np.full(self.n_cols, -1)
            position[wanted_cols] = np.arange(len(wanted_cols))
            where = np.where(cols >= 0, position[np.maximum(cols, 0)], -1)
            rows_i, j = np.nonzero(where >= 0)
            p = np.exp(vals[rows_i, j].astype(np.float64) - top[rows_i]) * \
                self.grouped_conf[rows_i]
            per_point = np.zeros((n, len(wanted_cols)))
            np.add.at(per_point, (rows_i, where[rows_i, j]), p)
        else:
            top = self.rows[np.arange(n), self.grouped_labels].astype(np.float64)
            per_point = np.exp(self.rows[:, wanted_cols].astype(np.float64) - top[:, None])
            per_point *= self.grouped_conf[:, None]
        sums = np.add.reduceat(per_point, self.starts, axis=0) if n else per_point
        return self.clusters, sums


class PointIndex(ClusterIndex):
    """The points of each cluster, by row index: what the merge loop asks a store for."""

    def __init__(self, labels: np.ndarray, n_clusters: int) -> None:
        super().__init__(labels, n_clusters)
        self._labels = labels

    def labels(self) -> np.ndarray:
        return self._labels


class DaskMergeLoop(MergeLoop):
    """The merge loop with step 2 and the empty-cluster rule run where the rows are."""

    def __init__(self, client: Any, buckets: list, shard_clusters: list[np.ndarray],
                 *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.client = client
        self.buckets = buckets
        self.shard_clusters = shard_clusters
        self.bytes_moved = 0
        self.tasks = 0
        self.steps = 0

    def picks(self, cols: np.ndarray, fast: bool = False
              ) -> tuple[np.ndarray, np.ndarray, bool]:
        wanted = [(s, b) for s, (b, held) in enumerate(zip(self.buckets, self.shard_clusters))
                  if np.isin(cols, held).any()]
        futures = [self.client.submit(Bucket.picks, b, cols, self.keep, fast, pure=False)
                   for _, b in wanted]
        self.tasks += len(futures)
        self.steps += 1
        results = self.client.gather(futures)
        approximate = any(approx for _, approx in results)
        parts = [res[int(c)] for c in cols for res, _ in results if int(c) in res]
        self.bytes_moved += sum(r.nbytes + w.nbytes for r, w in parts)
        if not parts:
            return np.empty(0, np.int32), np.empty(0), approximate
        return (np.concatenate([p[0] for p in parts]), np.concatenate([p[1] for p in parts]),
                approximate)

    def empty_hosts(self, wanted: np.ndarray, occupied: np.ndarray) -> np.ndarray:
        host = np.full(len(wanted), occupied[0], dtype=np.int64)
        columns = np.flatnonzero(wanted)
        chunk = max(1, EMPTY_CHUNK_BYTES // (8 * len(occupied)))
        position = np.full(len(wanted), -1)
        position[occupied] = np.arange(len(occupied))
        for start in range(0, len(columns), chunk):
            part = columns[start:start + chunk]
            results = self.client.gather([self.client.submit(Bucket.host_sums, b, part, pure=False)
                                          for b in self.buckets])
            self.tasks += len(results)
            total = np.zeros((len(occupied), len(part)))
            for hosts, sums in results:  # in shard order
                total[position[hosts]] += sums
                self.bytes_moved += sums.nbytes
            # argmax keeps the first of equal sums: the lowest host.
            host[part] = occupied[np.argmax(total, axis=0)]
        return host


def build_on_dask(spec: str | Sequence[str], client: Any, options: dict, *, input: str,
                  aggregate: str, strategy: str, temperature: float, keep_absent: bool,
                  names: Sequence[str] | None, progress: Progress | None
                  ) -> tuple[Any, dict[str, Any]]:
    """The pieces of a Tree built on `client`'s cluster, and figures of the run."""
    from .build import cluster_sums_of, finish_tree
    if not isinstance(spec, str) and len(spec) == 1:
        spec = spec[0]
    paths = shard_paths(spec, extensions("logits")) or [spec]
    token = uuid.uuid4().hex[:8]
    buckets = [client.submit(Bucket, p, options, input, temperature, key=f"l2h-scan-{i}-{token}")
               for i, p in enumerate(paths)]
    from dask.distributed import as_completed
    futures = [client.submit(Bucket.stats, b) for b in buckets]
    stats: list[dict[str, Any]] = [{} for _ in paths]
    position = {f.key: i for i, f in enumerate(futures)}
    for done, future in enumerate(as_completed(futures), 1):
        stats[position[future.key]] = future.result()
        if progress:
            progress("read", done, len(paths))
    k = stats[0]["n_cols"]
    for s in stats:
        if s["n_cols"] != k:
            raise InputError(f"{s['path']}: {s['n_cols']} columns, but the first shard "
                             f"{paths[0]} has {k}")
    labels = np.concatenate([s["labels"] for s in stats])
    conf = np.concatenate([s["conf"] for s in stats])
    runner = np.concatenate([s["runner"] for s in stats])
    share = np.concatenate([s["share"] for s in stats])
    present = np.logical_or.reduce([s["present"] for s in stats])
    index = PointIndex(labels, k)
    counts, conf_sum = cluster_sums_of(index, conf, k)
    columns = np.arange(k) if keep_absent else np.flatnonzero(present)
    loop = DaskMergeLoop(client, buckets, [s["clusters"] for s in stats], index, counts,
                         conf_sum, columns, None, 0, conf, progress,
                         runner_up=(runner, share))
    merges = loop.run(aggregate, strategy)
    for s in stats:
        if s["identity"] is not None and file_identity(s["path"]) != s["identity"]:
            raise InputError(f"{s['path']}: the file changed while it was being read; "
                             "nothing was written")
    figures = {"shards": len(paths), "tasks": loop.tasks, "steps": loop.steps,
               "bytes_to_client": loop.bytes_moved
               + sum(sum(np.asarray(v).nbytes for v in s.values()
                         if isinstance(v, np.ndarray)) for s in stats),
               "rows": len(labels)}
    tree = finish_tree(merges, loop, counts, columns, present, k, keep_absent, names,
                       meta={"aggregate": aggregate, "strategy": strategy,
                             "n_points": len(labels), "input": input,
                             "temperature": temperature})
    return tree, figures


