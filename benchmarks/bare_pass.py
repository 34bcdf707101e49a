"""The floor for `l2h build`: read every row block of a logit file and take its argmax."""

import sys

import numpy as np

from l2h_cli.readers import open_logits

with open_logits(sys.argv[1]) as reader:
    counts = np.zeros(reader.n_cols, dtype=np.int64)
    for block in reader.blocks(reader.default_block_rows()):
        counts += np.bincount(np.argmax(block, axis=1), minlength=reader.n_cols)
print(int(counts.sum()))
