"""Regenerate the files in sample_data/ (needs scikit-learn: pip install -e '.[test]').

1. digits_*: logits of a multinomial logistic regression trained on scikit-learn's bundled
   handwritten digits (load_digits: 1797 8x8 images, 10 classes, no download), split 60/40
   with a fixed seed. train logits are for `l2h build`, test logits and labels for
   `l2h evaluate`.
2. synthetic_*: l2h_cli.synthetic with seed 0: 20 groups of 5 classes (K = 100), 10,000
   training and 5,000 test points, with fine and group labels and the true tree.
"""

from pathlib import Path

import numpy as np
from sklearn.datasets import load_digits
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import train_test_split

from l2h_cli.synthetic import class_names, hierarchical_blocks, true_newick

HERE = Path(__file__).parent


def digits() -> None:
    x, y = load_digits(return_X_y=True)
    x_tr, x_te, y_tr, y_te = train_test_split(x / 16.0, y, test_size=0.4, random_state=0,
                                              stratify=y)
    model = LogisticRegression(max_iter=2000, C=0.05).fit(x_tr, y_tr)
    np.save(HERE / "digits_train_logits.npy", model.decision_function(x_tr).astype(np.float32))
    np.save(HERE / "digits_train_labels.npy", y_tr.astype(np.int64))
    np.save(HERE / "digits_test_logits.npy", model.decision_function(x_te).astype(np.float32))
    np.save(HERE / "digits_test_labels.npy", y_te.astype(np.int64))
    names = ["zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine"]
    (HERE / "digits_names.txt").write_text("\n".join(names) + "\n")
    print(f"digits: train {x_tr.shape[0]}, test {x_te.shape[0]}, "
          f"test accuracy {model.score(x_te, y_te):.3f}")


def synthetic() -> None:
    groups, per_group = 20, 5
    for split, n, seed in (("train", 10_000, 0), ("test", 5_000, 1)):
        parts = list(hierarchical_blocks(n, groups, per_group, seed=seed))
        np.save(HERE / f"synthetic_{split}_logits.npy", np.concatenate([p[0] for p in parts]))
        if split == "test":
            np.save(HERE / "synthetic_test_labels.npy", np.concatenate([p[1] for p in parts]))
            np.save(HERE / "synthetic_test_groups.npy", np.concatenate([p[2] for p in parts]))
    (HERE / "synthetic_names.txt").write_text("\n".join(class_names(groups, per_group)) + "\n")
    (HERE / "synthetic_true_tree.nwk").write_text(true_newick(groups, per_group) + "\n")
    (HERE / "synthetic_groups.txt").write_text(
        "".join(f"group {g:02d}\n" for g in range(groups) for _ in range(per_group)))
    print("synthetic: 20 groups x 5 classes, train 10000, test 5000")


if __name__ == "__main__":
    digits()
    synthetic()
