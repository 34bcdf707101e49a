"""The hierarchy and its files: the Tree, Newick, the l2h JSON tree, linkage matrices."""
