# Two commands for a fresh machine: `make demo` and `make test`.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
L2H    := $(BIN)/l2h
OUT    := out
S      := sample_data

.PHONY: demo test bench install install-test clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip

$(VENV)/.installed: $(BIN)/python pyproject.toml
	$(BIN)/python -m pip install -q -e '.[plot]'
	touch $@

$(VENV)/.installed-test: $(VENV)/.installed
	$(BIN)/python -m pip install -q -e '.[test,dask]'
	@# torch only to test reading .pt files; pinned to the CPU build this machine keeps on disk
	@# (an unpinned torch pulls a CUDA build of several GB). Without it those tests skip.
	-$(BIN)/python -m pip install -q 'torch==2.13.0'
	touch $@

install: $(VENV)/.installed
install-test: $(VENV)/.installed-test

demo: install
	@mkdir -p $(OUT)
	@echo "== 1. synthetic logits with a known hierarchy: 20 groups x 5 classes, 10,000 points"
	$(L2H) build $(S)/synthetic_train_logits.npy --names $(S)/synthetic_names.txt \
	    -o $(OUT)/synthetic.nwk -o $(OUT)/synthetic.json -o $(OUT)/synthetic_linkage.npy
	$(L2H) evaluate $(OUT)/synthetic.json $(S)/synthetic_test_logits.npy \
	    --labels $(S)/synthetic_test_labels.npy --labels $(S)/synthetic_test_groups.npy
	@echo "   the generating tree, evaluated the same way:"
	$(L2H) evaluate $(S)/synthetic_true_tree.nwk $(S)/synthetic_test_logits.npy \
	    --names $(S)/synthetic_names.txt \
	    --labels $(S)/synthetic_test_labels.npy --labels $(S)/synthetic_test_groups.npy
	$(L2H) cut $(OUT)/synthetic.json --k 20 -o $(OUT)/synthetic_k20.csv
	@echo "   the 20-group cut of the learned tree, leaf by leaf: $(OUT)/synthetic_k20.csv"
	@echo
	@echo "== 2. real logits: logistic regression on scikit-learn's handwritten digits"
	$(L2H) build $(S)/digits_train_logits.npy --names $(S)/digits_names.txt \
	    -o $(OUT)/digits.json -o $(OUT)/digits.nwk
	@cat $(OUT)/digits.nwk
	$(L2H) evaluate $(OUT)/digits.json $(S)/digits_test_logits.npy \
	    --labels $(S)/digits_test_labels.npy
	$(L2H) show $(OUT)/digits.json $(S)/digits_test_logits.npy --labels $(S)/digits_test_labels.npy
	@echo
	@echo "== 3. pictures"
	$(L2H) render $(OUT)/synthetic.json --color-by $(S)/synthetic_groups.txt \
	    -o $(OUT)/synthetic.png -o $(OUT)/synthetic.html
	$(L2H) render $(OUT)/digits.json $(S)/digits_test_logits.npy \
	    --labels $(S)/digits_test_labels.npy -o $(OUT)/digits.png -o $(OUT)/digits.html
	@echo
	@echo "outputs are in $(OUT)/: open $(OUT)/synthetic.html in a browser (works offline),"
	@echo "or look at $(OUT)/synthetic.png and $(OUT)/digits.png"

test: install-test
	$(BIN)/mkdocs build -q --strict -f docs/mkdocs.yml
	$(BIN)/python -m pytest -q

bench: install-test
	$(BIN)/python benchmarks/run.py
	$(BIN)/python benchmarks/scale.py

clean:
	rm -rf $(OUT) benchmarks/data benchmarks/results
