"""The floor for `l2h build`: read every row block of a logit file (or of its shards) and take
each row's argmax. Sparse rows: the column of the largest stored value."""

import sys

import numpy as np

from l2h_cli.readers import open_logits

with open_logits(sys.argv[1:]) as reader:
    counts = np.zeros(reader.n_cols, dtype=np.int64)
    for block in reader.blocks(reader.default_block_rows()):
        if reader.sparse:
            cols, vals = block["idx"][:, 0], block["val"][:, 0]
            top = cols[np.arange(len(block)), np.argmax(vals, axis=1)]
        else:
            top = np.argmax(block, axis=1)
        counts += np.bincount(top, minlength=reader.n_cols)
print(int(counts.sum()))
