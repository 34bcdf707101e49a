"""Compiled versions of the hot kernels in kernels.py, and the kernels of sparse rows.

NumPy's float64 exp is not vectorised on AVX2 machines (about 6 ns a value). Here exp is
written out: Cody-Waite reduction by ln 2, a degree-13 polynomial evaluated by Estrin's scheme,
and the power of two assembled from integer bits, so LLVM vectorises it. It agrees with libm
to about one ulp. Sums of exponentials stay in float64, shifted by the (restricted) row max,
which is found with an integer max over keys that order like the floats.

For float32 rows, step 2 can also run in certified float32 (`fast`): a float32 exp at twice
the vector width, summed in float64, within kernels.FAST_ERROR of the float64 result per point; the
merge loop redoes in float64 any step whose decision that bound does not settle.
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit, types
from numba.extending import intrinsic

from .kernels import TERM_ERROR

_LN2_HI = 6.93147180369123816490e-01
_LN2_LO = 1.90821492927058770002e-10
_LOG2E = 1.44269504088896338700e+00
_SHIFTER = 6755399441055744.0  # 1.5 * 2**52: adding it rounds to an integer in the low bits
_SHIFTER_BITS = int(np.float64(_SHIFTER).view(np.int64))
_C = tuple(1.0 / math.factorial(i) for i in range(14))
# Below this, exp(x) < 3e-308: nothing next to the 1.0 every shifted sum contains.
_FLOOR = -708.0


@njit(fastmath={"contract"}, inline="always")
def _exp(x):
    """exp(x) for _FLOOR <= x <= 0, to about one ulp of libm, in a form LLVM vectorises."""
    t = x * _LOG2E + _SHIFTER
    k = t - _SHIFTER
    r = (x - k * _LN2_HI) - k * _LN2_LO
    r2 = r * r
    r4 = r2 * r2
    a0 = 1.0 + r * _C[1]
    a1 = _C[2] + r * _C[3]
    a2 = _C[4] + r * _C[5]
    a3 = _C[6] + r * _C[7]
    a4 = _C[8] + r * _C[9]
    a5 = _C[10] + r * _C[11]
    a6 = _C[12] + r * _C[13]
    p = (a0 + r2 * a1) + r4 * (a2 + r2 * a3) + (r4 * r4) * ((a4 + r2 * a5) + r4 * a6)
    # 2**k from its bits: k sits in the low bits of t.
    return p * _bitcast((np.int64(_bitcast(t)) - _SHIFTER_BITS + 1023) << 52)


_F32 = np.float32
_LOG2E32 = _F32(_LOG2E)
_SHIFTER32 = _F32(12582912.0)  # 1.5 * 2**23
_SHIFTER32_BITS = int(np.float32(12582912.0).view(np.int32))
_LN2_HI32 = _F32(0.693359375)   # 8 significant bits: k * _LN2_HI32 is exact for |k| < 2**16
_LN2_LO32 = _F32(-2.12194440e-4)
_C32 = tuple(_F32(c) for c in _C[:8])
# exp(-87) = 1.6e-38 is still a normal float32; below, terms are dropped (each < 2e-38 next to
# the 1.0 every shifted sum holds).
_FLOOR32 = _F32(-87.0)


@njit(fastmath={"contract"}, inline="always")
def _exp32(x):
    """exp(x) in float32 for _FLOOR32 <= x <= 0: Cody-Waite reduction and a degree-7
    polynomial, vectorised at twice the width of _exp."""
    t = x * _LOG2E32 + _SHIFTER32
    k = t - _SHIFTER32
    r = (x - k * _LN2_HI32) - k * _LN2_LO32
    r2 = r * r
    p = ((_C32[0] + r * _C32[1]) + r2 * (_C32[2] + r * _C32[3])
         + (r2 * r2) * ((_C32[4] + r * _C32[5]) + r2 * (_C32[6] + r * _C32[7])))
    bits = np.int32(np.int32(_bitcast(t)) - np.int32(_SHIFTER32_BITS) + np.int32(127))
    return p * _bitcast(np.int32(bits << np.int32(23)))


@njit(fastmath={"contract", "reassoc"}, nogil=True, cache=True)
def _sum_exp32(row, shift, keep, terms):
    """_sum_exp for a float32 row, in float32 exponentials summed in float64 (terms float32);
    within kernels.FAST_ERROR of _sum_exp."""
    top = _F32(shift)
    for j in range(row.shape[0]):
        x = row[j] - top
        live = keep[j] and x > _FLOOR32
        e = _exp32(max(x, _FLOOR32))
        terms[j] = e if live else _F32(0.0)
    s = 0.0
    for j in range(terms.shape[0]):
        s += np.float64(terms[j])
    return s


@njit(fastmath={"contract"}, nogil=True, cache=True)
def _sum_exp(row, shift, keep, terms):
    """Sum over j with keep[j] of exp(row[j] - shift), for row[j] <= shift; each term is left
    in terms[j] (0 where not kept)."""
    for j in range(row.shape[0]):
        x = np.float64(row[j]) - shift
        live = keep[j] and x > _FLOOR
        e = _exp(max(x, _FLOOR))
        terms[j] = e if live else 0.0
    return _total(terms)


@njit(fastmath={"reassoc"}, nogil=True, cache=True)
def _total(terms):
    # Reassociation lets LLVM sum in vector lanes; all terms are >= 0, so the order changes
    # only the last bits.
    s = 0.0
    for j in range(terms.shape[0]):
        s += terms[j]
    return s


@njit(nogil=True, cache=True)
def assign(block, deep, present):
    """(argmax, confidence, runner-up, share, others, first bad row or -1, kind: 1 NaN/+inf,
    2 all -inf). `others` is the sum of exp(z - max) over the other columns. Sets
    present[j] where a row holds a finite logit in column j (in the pass that checks the
    row, so the block is not read once more for it).

    The runner-up is the argmax of the other columns (-1 if they are all -inf) and the share is
    its softmax probability among them: step 2 of the algorithm for the point when its cluster
    alone is `low`, from the same exponentials as the confidence, unless it is more than
    `-deep` below the max.
    """
    n, k = block.shape
    a = np.empty(n, dtype=np.int64)
    conf = np.empty(n)
    runner = np.empty(n, dtype=np.int32)
    share = np.empty(n)
    sums = np.empty(n)
    keep = np.ones(k, dtype=np.bool_)
    terms = np.empty(k)
    for i in range(n):
        row = block[i]
        bad = False
        for j in range(k):
            bad |= not row[j] < np.inf
            present[j] |= row[j] > -np.inf
        if bad:
            return a, conf, runner, share, sums, i, 1
        top, arg = _kept_top(row, keep)
        if arg < 0:
            return a, conf, runner, share, sums, i, 2
        a[i] = arg
        keep[arg] = False
        second, r = _kept_top(row, keep)
        # The others summed on their own, then the argmax's exp(0) = 1 added: no probability
        # is ever one minus another.
        others = sums[i] = _sum_exp(row, top, keep, terms)
        conf[i] = 1.0 / (1.0 + others)
        runner[i] = r
        if r < 0:
            share[i] = 0.0
        elif np.float64(second) - top > deep:
            # The runner-up's term exactly as it entered the sum (so a lone term gives 1).
            share[i] = terms[r] / others
        else:
            # exp(second - top) is near the bottom of float64: shift by the runner-up instead.
            share[i] = 1.0 / _sum_exp(row, second, keep, terms)
        keep[arg] = True
    return a, conf, runner, share, sums, -1, 0


@intrinsic
def _bitcast(typingctx, x):
    """The same bits as the other kind of number of that width: a float32 or float64 as a
    signed integer, an int32 or int64 as a float."""
    other = {types.float32: types.int32, types.float64: types.int64,
             types.int32: types.float32, types.int64: types.float64}.get(x)
    if other is None:
        return None

    def codegen(context, builder, signature, args):
        return builder.bitcast(args[0], context.get_value_type(other))
    return other(x), codegen


_NO_KEY = np.int64(-2**63)
_MAGNITUDE = np.int64(2**63 - 1)
_LOW31 = np.int64(2**31 - 1)
_LOW32 = np.int64(2**32 - 1)


@njit(inline="always")
def _key(x):
    """An int64 that orders like the float x (NaN aside). Integer max reductions vectorise;
    LLVM leaves a float max reduction scalar, several times slower."""
    b = np.int64(_bitcast(x))
    return b ^ ((b >> 63) & _MAGNITUDE)


@njit(inline="always")
def _key32(x):
    """_key for a float32, within the int32 range."""
    b = np.int64(_bitcast(x))
    return b ^ ((b >> 63) & _LOW31)


@njit(nogil=True, cache=True)
def _kept_top(row, keep):
    """Largest kept value and its first column; (-inf, -1) if no kept value is above -inf."""
    n = row.shape[0]
    top = _NO_KEY
    if row.itemsize == 4:
        # A float32 key fits in 32 bits: pack it over (2**32 - 1 - column), so one max finds
        # the largest value and, among equal ones, the first column.
        for j in range(n):
            packed = (_key32(row[j]) << 32) | (_LOW32 - j)
            top = max(top, packed if keep[j] else _NO_KEY)
        if top == _NO_KEY:
            return -np.inf, -1
        arg = np.intp(_LOW32 - (top & _LOW32))
    else:
        for j in range(n):
            top = max(top, _key(row[j]) if keep[j] else _NO_KEY)
        if top == _NO_KEY:
            return -np.inf, -1
        arg = 0
        while not (keep[arg] and _key(row[arg]) == top):
            arg += 1
    value = row[arg]
    if value == -np.inf:
        return -np.inf, -1
    if value == 0:  # -0.0 and +0.0 have different keys but tie as values: the first of either
        arg = 0
        while not (keep[arg] and row[arg] == 0):
            arg += 1
    return np.float64(value), arg


@njit(nogil=True, cache=True, inline="always")
def _pick_row(row, keep, terms, terms32, fast):
    """Step 2 of the algorithm for one dense row: (r, w), or (-1, 0) when no kept logit is
    finite. `fast` (float32 rows): w from _sum_exp32."""
    top, arg = _kept_top(row, keep)
    if arg < 0:
        return -1, 0.0
    if fast and row.itemsize == 4:
        return arg, 1.0 / _sum_exp32(row, top, keep, terms32)
    return arg, 1.0 / _sum_exp(row, top, keep, terms)


# ---- step 2 from the mass outside a point's previous group ------------------------------
# A point's softmax mass outside the group it was last read in (`rest`, shifted by its row
# max; at first the `others` of assign) shrinks, when its group has grown, by the terms of
# the columns it gained: a gather of those columns instead of an exponential of every
# column. It is a difference, so it carries an error bound (`err`, absolute); a point whose
# bound is not within `tau` of its value, or whose group gained more than `max_gather`
# columns, goes back to _pick_row and keeps no bound from then on (err = inf).

_U = 2.0 ** -53
# Each term below exp(_FLOOR) is dropped: at most this much.
_TINY = 2.0 ** -1020


@njit(fastmath={"contract", "reassoc"}, nogil=True, cache=True)
def _gained_sum(row, shift, cols, lo, hi, scratch):
    """Sum of exp(row[c] - shift) over c in cols[:lo] and cols[hi:], and how many terms."""
    n = 0
    for t in range(lo):
        scratch[n] = np.float64(row[cols[t]]) - shift
        n += 1
    for t in range(hi, cols.shape[0]):
        scratch[n] = np.float64(row[cols[t]]) - shift
        n += 1
    s = 0.0
    for t in range(n):
        x = scratch[t]
        e = _exp(max(x, _FLOOR))
        s += e if x > _FLOOR else 0.0
    return s, n


@njit(nogil=True, cache=True, inline="always")
def _pick_row_outside(row, keep, terms, terms32, fast, t, i, outside, scratch, tau):
    """_pick_row for point i, the t-th of its block, from its mass outside its previous group
    (low's columns outside cols[lo[t]:hi[t]]) when that is known well enough; updates it to
    the mass outside low. The w returned is within tau of float64's, relative (plus a few
    float64 roundings)."""
    cols, lo, hi, tops, rest, err, max_gather = outside
    if err[i] < np.inf and lo[t] + cols.shape[0] - hi[t] <= max_gather:
        shift = np.float64(row[tops[t]])
        gained, n = _gained_sum(row, shift, cols, lo[t], hi[t], scratch)
        s = rest[i] - gained
        # err: the previous bound, the terms' own errors and the sum's rounding, the dropped
        # terms, and the subtraction's rounding.
        bound = err[i] + (TERM_ERROR + n * _U) * gained + n * _TINY + _U * abs(s)
        rest[i], err[i] = s, bound
        top, arg = _kept_top(row, keep)
        if arg < 0:
            return -1, 0.0
        x = top - shift
        if s > 0 and bound <= tau * s and x > _FLOOR:
            return arg, _exp(x) / s
    err[i] = np.inf
    return _pick_row(row, keep, terms, terms32, fast)


@njit(nogil=True, cache=True, inline="always")
def _step_row(row, keep, terms, terms32, fast, t, i, outside, scratch, tau):
    """Step 2 for point i, the t-th of its block: from its outside mass when `outside` holds
    one for each point of the block (see restricted_pick), else from the whole row."""
    if outside[1].shape[0]:
        return _pick_row_outside(row, keep, terms, terms32, fast, t, i, outside, scratch, tau)
    return _pick_row(row, keep, terms, terms32, fast)


@njit(nogil=True, cache=True)
def restricted_pick(matrix, points, keep, fast, outside, tau):
    """Step 2 of the algorithm for the rows `points` of an in-memory matrix: (r, w) per point.
    `outside` (kernels.OutsideMass.step; its per-point arrays empty to leave it out): low's
    columns in list order, where in them each point's previous group sits, each point's
    argmax column, and the per-point masses and bounds."""
    m = points.shape[0]
    r = np.empty(m, dtype=np.int32)
    w = np.empty(m)
    terms = np.empty(matrix.shape[1])
    terms32 = np.empty(matrix.shape[1], dtype=np.float32)
    scratch = np.empty(matrix.shape[1])
    for t in range(m):
        r[t], w[t] = _step_row(matrix[points[t]], keep, terms, terms32, fast, t, points[t],
                               outside, scratch, tau)
    return r, w


_pread = types.ExternalFunction("pread", types.intp(types.int32, types.voidptr, types.uintp,
                                                    types.int64))


@njit(nogil=True, cache=True)
def _read_run(fd, offset, positions, i, buf):
    """Read the run of consecutive positions starting at positions[i] (at most the rows of
    `buf`) into buf with one pread: the end of the run, or -1 when a read fails or comes up
    short."""
    n = positions.shape[0]
    row_bytes = buf.shape[1] * buf.itemsize
    j = i + 1
    while j < n and j - i < buf.shape[0] and positions[j] == positions[j - 1] + 1:
        j += 1
    want = (j - i) * row_bytes
    got = 0
    while got < want:
        step = _pread(fd, buf.ctypes.data + got, want - got,
                      offset + positions[i] * row_bytes + got)
        if step <= 0:
            return -1
        got += step
    return j


@njit(nogil=True, cache=True)
def restricted_pick_file(fd, offset, positions, keep, buf, fast, points, outside, tau):
    """restricted_pick over rows of a raw file at `positions` (the rows of `points`): each
    run of consecutive positions (up to the rows of `buf`) is read with one pread and used
    while it is still in cache. Returns (r, w, 0), or (r, w, -1) when a read fails or comes
    up short."""
    k = buf.shape[1]
    n = positions.shape[0]
    r = np.full(n, -1, dtype=np.int32)
    w = np.zeros(n)
    terms = np.empty(k)
    terms32 = np.empty(k, dtype=np.float32)
    scratch = np.empty(k)
    i = 0
    while i < n:
        j = _read_run(fd, offset, positions, i, buf)
        if j < 0:
            return r, w, -1
        for t in range(i, j):
            r[t], w[t] = _step_row(buf[t - i], keep, terms, terms32, fast, t, points[t],
                                   outside, scratch, tau)
        i = j
    return r, w, 0


# ---- sparse (top-k) rows: k (column, value) pairs, every other logit -inf ----------------
# Padding entries (column -1, or value -inf) are skipped. Ties between equal values go to the
# lowest column, as in a dense row.

@njit(nogil=True, cache=True)
def _sparse_top(cols, vals, keep, skip):
    """Largest value among the live entries whose column is kept and is not `skip`: (value,
    column, position), or (-inf, -1, -1)."""
    top = -np.inf
    col = -1
    pos = -1
    for j in range(cols.shape[0]):
        c = cols[j]
        if c < 0 or c == skip or not keep[c]:
            continue
        v = np.float64(vals[j])
        if v == -np.inf:
            continue
        if v > top or (v == top and c < col):
            top, col, pos = v, c, j
    return top, col, pos


@njit(fastmath={"contract"}, nogil=True, cache=True)
def _sparse_sum_exp(cols, vals, keep, skip, shift):
    s = 0.0
    for j in range(cols.shape[0]):
        c = cols[j]
        if c < 0 or c == skip or not keep[c]:
            continue
        x = np.float64(vals[j]) - shift
        if x > _FLOOR:
            s += _exp(x)
    return s


@njit(nogil=True, cache=True)
def sparse_check(cols, vals, n_classes, seen):
    """(first bad row or -1, kind: 1 NaN/+inf value, 2 column out of range, 3 duplicate
    column, 4 no finite logit). `seen` is a scratch array of n_classes int64, all -1."""
    n, k = cols.shape
    for i in range(n):
        live = False
        for j in range(k):
            c = cols[i, j]
            v = vals[i, j]
            if not v < np.inf:
                return i, 1
            if c < -1 or c >= n_classes:
                return i, 2
            if c < 0:
                continue
            if seen[c] == i:
                return i, 3
            seen[c] = i
            live |= v > -np.inf
        if not live:
            return i, 4
    return -1, 0


@njit(nogil=True, cache=True)
def sparse_assign(cols, vals, n_classes, deep):
    """assign() for sparse rows already checked by sparse_check."""
    n = cols.shape[0]
    a = np.empty(n, dtype=np.int64)
    conf = np.empty(n)
    runner = np.empty(n, dtype=np.int32)
    share = np.empty(n)
    sums = np.empty(n)
    keep = np.ones(n_classes, dtype=np.bool_)
    for i in range(n):
        top, arg, _ = _sparse_top(cols[i], vals[i], keep, -1)
        a[i] = arg
        second, r, pos = _sparse_top(cols[i], vals[i], keep, arg)
        others = sums[i] = _sparse_sum_exp(cols[i], vals[i], keep, arg, top)
        conf[i] = 1.0 / (1.0 + others)
        runner[i] = r
        if r < 0:
            share[i] = 0.0
        elif second - top > deep:
            share[i] = _exp(max(second - top, _FLOOR)) / others
        else:
            share[i] = 1.0 / _sparse_sum_exp(cols[i], vals[i], keep, arg, second)
    return a, conf, runner, share, sums


@njit(nogil=True, cache=True)
def sparse_pick(cols, vals, points, keep):
    """restricted_pick for sparse rows."""
    m = points.shape[0]
    r = np.empty(m, dtype=np.int32)
    w = np.empty(m)
    for t in range(m):
        i = points[t]
        top, c, _ = _sparse_top(cols[i], vals[i], keep, -1)
        r[t] = c
        w[t] = 0.0 if c < 0 else 1.0 / _sparse_sum_exp(cols[i], vals[i], keep, -1, top)
    return r, w


# ---- the empty-cluster rule: which host gives each empty column the most probability ------
# Points come grouped by host (their argmax cluster), hosts ascending. The probability a point
# gives column c is exp(z_c - top) * conf (conf = 1 / its full softmax sum, from the first
# pass), so no row needs its softmax sum again. A host's sums are compared with the best so
# far when the next host starts (strictly greater: ties keep the lower host).

@njit(nogil=True, cache=True)
def _flush_hosts(state, acc, touched, flags, best_given, best_host):
    h = state[0]
    for t in range(state[1]):
        c = touched[t]
        if acc[c] > best_given[c]:
            best_given[c] = acc[c]
            best_host[c] = h
        acc[c] = 0.0
        flags[c] = False
    state[1] = 0


@njit(nogil=True, cache=True)
def _touch(c, p, acc, touched, flags, state):
    acc[c] += p
    if not flags[c]:
        flags[c] = True
        touched[state[1]] = c
        state[1] += 1


@njit(fastmath={"contract"}, nogil=True, cache=True)
def _add_dense(row, top, p, wanted_cols, sums, gathered):
    # The gather gets a loop of its own: mixed with the exp, it kept LLVM from vectorising
    # the exp (twice as slow).
    for t in range(wanted_cols.shape[0]):
        gathered[t] = np.float64(row[wanted_cols[t]]) - top
    for t in range(wanted_cols.shape[0]):
        x = gathered[t]
        e = _exp(max(x, _FLOOR)) * p
        sums[t] += e if x > _FLOOR else 0.0


@njit(nogil=True, cache=True)
def _flush_dense(sums, given, host, h):
    for t in range(sums.shape[0]):
        better = sums[t] > given[t]
        given[t] = sums[t] if better else given[t]
        host[t] = h if better else host[t]
        sums[t] = 0.0


@njit(nogil=True, cache=True)
def _host_row(row, h, p, wanted_cols, sums, state, given, host, gathered):
    if h != state[0]:
        _flush_dense(sums, given, host, state[0])
        state[0] = h
    _add_dense(row, np.float64(row[h]), p, wanted_cols, sums, gathered)


@njit(nogil=True, cache=True)
def empty_hosts_dense(matrix, points, hosts, conf, wanted_cols, sums, state, given, host):
    """Every wanted column is touched by every row, so sums, best sums and hosts are kept
    per wanted column (slot t for column wanted_cols[t]) and compared in one pass per host.
    The rows are matrix[points]."""
    gathered = np.empty(wanted_cols.shape[0])
    for t in range(points.shape[0]):
        _host_row(matrix[points[t]], hosts[t], conf[t], wanted_cols, sums, state, given, host,
                  gathered)


@njit(nogil=True, cache=True)
def empty_hosts_dense_file(fd, offset, positions, hosts, conf, wanted_cols, sums, state,
                           given, host, buf):
    """empty_hosts_dense over rows of a raw file at `positions`, read as in
    restricted_pick_file. Returns 0, or -1 when a read fails or comes up short."""
    gathered = np.empty(wanted_cols.shape[0])
    i = 0
    while i < positions.shape[0]:
        j = _read_run(fd, offset, positions, i, buf)
        if j < 0:
            return -1
        for t in range(i, j):
            _host_row(buf[t - i], hosts[t], conf[t], wanted_cols, sums, state, given, host,
                      gathered)
        i = j
    return 0


@njit(nogil=True, cache=True)
def finish_hosts_dense(state, sums, given, host):
    _flush_dense(sums, given, host, state[0])


@njit(nogil=True, cache=True)
def empty_hosts_sparse(cols, vals, hosts, tops, conf, wanted, state, acc, touched, flags,
                       best_given, best_host):
    for i in range(cols.shape[0]):
        if hosts[i] != state[0]:
            _flush_hosts(state, acc, touched, flags, best_given, best_host)
            state[0] = hosts[i]
        top = -np.inf
        for j in range(cols.shape[1]):
            if cols[i, j] == tops[i]:
                top = np.float64(vals[i, j])
        for j in range(cols.shape[1]):
            c = cols[i, j]
            if c >= 0 and wanted[c]:
                x = np.float64(vals[i, j]) - top
                _touch(c, _exp(x) * conf[i] if x > _FLOOR else 0.0, acc, touched, flags, state)


@njit(nogil=True, cache=True)
def finish_hosts(state, acc, touched, flags, best_given, best_host):
    _flush_hosts(state, acc, touched, flags, best_given, best_host)


# ---- step 4: relations per node from per-point picks ----------------------------------------

@njit(nogil=True, cache=True)
def _group_sums(keys, values):
    """The distinct keys, ascending, and the sum of the values of each, in input order."""
    order = np.argsort(keys, kind="mergesort")
    uniq = np.empty(keys.shape[0], dtype=np.int64)
    sums = np.empty(keys.shape[0])
    u = -1
    for t in range(keys.shape[0]):
        key = keys[order[t]]
        if u < 0 or uniq[u] != key:
            u += 1
            uniq[u] = key
            sums[u] = 0.0
        sums[u] += values[order[t]]
    return uniq[:u + 1], sums[:u + 1]


@njit(nogil=True, cache=True)
def relations(r, w, leaf_of, parent, node_at_root):
    """The nodes that receive mass, ascending, and the mass each receives: summed per leaf in
    point order, then per node in leaf order. Finds each leaf's group in the disjoint-set
    forest `parent` (compressing paths)."""
    m = 0
    for t in range(r.shape[0]):
        m += r[t] >= 0
    leaves = np.empty(m, dtype=np.int64)
    weights = np.empty(m)
    m = 0
    for t in range(r.shape[0]):
        if r[t] >= 0:
            leaves[m] = leaf_of[r[t]]
            weights[m] = w[t]
            m += 1
    uniq, sums = _group_sums(leaves, weights)
    return _group_sums(find_nodes(uniq, parent, node_at_root), sums)


@njit(nogil=True, cache=True)
def gather_runs(order, starts, clusters):
    """order[starts[c]:starts[c + 1]] for each c in clusters, one after the other."""
    total = 0
    for c in clusters:
        total += starts[c + 1] - starts[c]
    out = np.empty(total, dtype=order.dtype)
    at = 0
    for c in clusters:
        for j in range(starts[c], starts[c + 1]):
            out[at] = order[j]
            at += 1
    return out


@njit(nogil=True, cache=True)
def chain(first, next_leaf, n):
    """The n leaves of a linked list from `first`."""
    out = np.empty(n, dtype=np.int64)
    leaf = first
    for t in range(n):
        out[t] = leaf
        leaf = next_leaf[leaf]
    return out


@njit(nogil=True, cache=True)
def top_two(mass, sizes):
    """Step 4's decision over the groups that receive mass: rel = mass / sizes, the first
    largest (j, rel[j]) and the first largest of the others (j2, rel[j2]; -1, -inf if none)."""
    j, top = 0, -np.inf
    for t in range(mass.shape[0]):
        rel = mass[t] / sizes[t]
        if rel > top or t == 0:
            j, top = t, rel
    j2, second = -1, -np.inf
    for t in range(mass.shape[0]):
        rel = mass[t] / sizes[t]
        if t != j and (j2 < 0 or rel > second):
            j2, second = t, rel
    return j, top, j2, second


@njit(nogil=True, cache=True)
def find_nodes(leaves, parent, node_at_root):
    """The node of the group holding each leaf, in the disjoint-set forest `parent`
    (compressing the paths walked)."""
    nodes = np.empty(leaves.shape[0], dtype=np.int64)
    for t in range(leaves.shape[0]):
        root = leaves[t]
        while parent[root] != root:
            root = parent[root]
        leaf = leaves[t]
        while parent[leaf] != root:
            nxt = parent[leaf]
            parent[leaf] = root
            leaf = nxt
        nodes[t] = node_at_root[root]
    return nodes
