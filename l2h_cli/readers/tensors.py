"""The files ML code writes: `.safetensors` (read a row block at a time through
`safe_open(...).get_slice`, no torch needed) and `.pt`/`.pth` (`torch.save` of a tensor or of a
dict of tensors, loaded with `weights_only=True` and memory-mapped: never arbitrary
unpickling). A dense tensor under `key` (default `logits`, or the only one), or sparse rows as
`indices`, `values` and `n_classes`."""

from __future__ import annotations

from typing import Any, Mapping

import numpy as np

from ..errors import InputError, UsageError
from .base import ArrayReader, LogitReader
from .sparse import DEFAULT_INDICES, DEFAULT_VALUES, SparseArrayReader, check_classes

DEFAULT_KEY = "logits"


def _pick(path: str, tensors: Mapping[str, Any], key: str | None, n_classes: int | None,
          indices: str | None, values: str | None, convert, extra_classes: Any = None
          ) -> LogitReader:
    names = list(tensors)
    if indices or values or (key is None and DEFAULT_INDICES in names
                             and DEFAULT_VALUES in names):
        idx, val = indices or DEFAULT_INDICES, values or DEFAULT_VALUES
        for name, option in ((idx, "indices"), (val, "values")):
            if name not in tensors:
                raise InputError(f"{path}: no tensor '{name}' (tensors: {', '.join(names)})",
                                 option=option)
        found = tensors.get("n_classes", extra_classes)
        if found is not None and not isinstance(found, (int, str)):
            found = int(np.asarray(convert(found)).reshape(-1)[0])
        return SparseArrayReader(tensors[idx], tensors[val],
                                 check_classes(path, found, n_classes), path, convert)
    if key is None and DEFAULT_KEY not in tensors and len(names) == 1:
        key = names[0]
    key = key or DEFAULT_KEY
    if key not in tensors:
        raise InputError(f"{path}: no tensor '{key}' (tensors: {', '.join(names) or 'none'})",
                         option="key")
    return ArrayReader(tensors[key], path, convert)


class _SafeSlices(Mapping):
    """The tensors of a safetensors file as sliceable objects with a shape."""

    class _Tensor:
        def __init__(self, handle, name: str) -> None:
            self._slice = handle.get_slice(name)
            self.shape = tuple(self._slice.get_shape())

        def __getitem__(self, item: slice):
            # Unlike NumPy, safetensors refuses a slice that runs past the end.
            return self._slice[slice(item.start, min(item.stop, self.shape[0]))]

    def __init__(self, handle) -> None:
        self._handle = handle
        self._names = list(handle.keys())

    def __getitem__(self, name: str):
        if name not in self._names:
            raise KeyError(name)
        return self._Tensor(self._handle, name)

    def __iter__(self):
        return iter(self._names)

    def __len__(self) -> int:
        return len(self._names)


def open_safetensors(path: str, key: str | None = None, n_classes: int | None = None,
                     indices: str | None = None, values: str | None = None,
              **_: object) -> LogitReader:
    try:
        from safetensors import SafetensorError, safe_open
    except ImportError:  # pragma: no cover - a core dependency
        raise UsageError("reading .safetensors needs the safetensors package") from None
    try:
        handle = safe_open(path, framework="numpy")
        meta = handle.metadata() or {}
        tensors = _SafeSlices(handle)
    except (SafetensorError, OSError, ValueError) as exc:
        raise InputError(f"{path}: not a readable .safetensors file ({exc})") from None
    reader = _pick(path, tensors, key, n_classes, indices, values, np.asarray,
                   meta.get("n_classes"))
    reader.format = "safetensors"
    return reader


def _torch_to_numpy(tensor: Any) -> np.ndarray:
    import torch
    if tensor.dtype in (torch.bfloat16, torch.float16):
        tensor = tensor.float()
    return tensor.detach().cpu().numpy()


def open_torch(path: str, key: str | None = None, n_classes: int | None = None,
               indices: str | None = None, values: str | None = None,
              **_: object) -> LogitReader:
    try:
        import torch
    except ImportError:
        raise UsageError(f"{path}: reading .pt files needs PyTorch: pip install 'l2h[torch]'") \
            from None
    try:
        # weights_only: tensors and plain containers only, never arbitrary objects; mmap: the
        # tensor's storage stays in the file and only the rows sliced are read.
        obj = torch.load(path, map_location="cpu", weights_only=True, mmap=True)
    except Exception as exc:  # torch raises many kinds for a bad or unsafe file
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise InputError(f"{path}: not a loadable torch file of tensors ({first})") from None
    if isinstance(obj, torch.Tensor):
        obj = {DEFAULT_KEY: obj}
    if not isinstance(obj, Mapping):
        raise InputError(f"{path}: holds a {type(obj).__name__}, not a tensor or a dict of "
                         "tensors")
    reader = _pick(path, obj, key, n_classes, indices, values, _torch_to_numpy)
    reader.format = "torch"
    return reader
