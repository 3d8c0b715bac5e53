"""Level batches: fixed-capacity padded tensor records, their schema, validation and files.

A *level* is a record of named tensors whose shapes are fixed by the world's capacities, so a
batch of different levels is one ``TensorDict`` with batch ``[B]``. A ``LevelSchema`` names every
field with its per-level shape, dtype and allowed range; it validates batches and reads and writes
level files (JSON for hand-written levels, safetensors for large banks). A file is validated in
full before anything is returned, so a bad file is refused whole with a message naming the field.
"""
from __future__ import annotations

import json
import os
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Sequence

import numpy as np
import torch
from tensordict import TensorDict

FORMAT_KEY = "format"
VERSION_KEY = "version"
GRID_CHARS = {"#": 1, ".": 0}


class LevelFileError(ValueError):
    """A level file or level batch that does not match its world's schema."""


@dataclass(frozen=True)
class LevelField:
    """One named tensor of a level: per-level shape, dtype and inclusive value range."""

    name: str
    shape: tuple[int, ...]
    dtype: torch.dtype
    low: float | None = None
    high: float | None = None
    doc: str = ""
    grid: bool = False  # 2-D 0/1 field [y, x]; JSON writes it as '#'/'.' rows, top row (largest y) first


@dataclass(frozen=True)
class LevelSchema:
    """The fields of one world's level record, plus a world-specific semantic check."""

    world: str
    version: int
    fields: tuple[LevelField, ...]
    check: Callable[[TensorDict], None] | None = field(default=None, compare=False)

    @property
    def format_name(self) -> str:
        """Identifier written into files (``ada.<world>.levels``)."""
        return f"ada.{self.world}.levels"

    def field_named(self, name: str) -> LevelField:
        """The field called ``name``."""
        for f in self.fields:
            if f.name == name:
                return f
        raise KeyError(name)

    def empty(self, batch: int, device: torch.device | str = "cpu") -> TensorDict:
        """A zero-filled batch of ``batch`` levels."""
        return TensorDict(
            {f.name: torch.zeros((batch, *f.shape), dtype=f.dtype, device=device) for f in self.fields},
            batch_size=[batch],
            device=device,
        )

    # ------------------------------------------------------------------ validation
    def validate(self, levels: TensorDict, source: str = "levels") -> TensorDict:
        """Check every field's presence, shape, finiteness and range; return the batch cast to schema dtypes."""
        if levels.batch_dims != 1:
            raise LevelFileError(f"{source}: a level batch has one batch dimension, got {tuple(levels.batch_size)}")
        batch = levels.batch_size[0]
        out = {}
        known = {f.name for f in self.fields}
        extra = sorted(set(levels.keys()) - known)
        if extra:
            raise LevelFileError(f"{source}: unknown level field(s) {extra} for world '{self.world}'")
        for f in self.fields:
            if f.name not in levels.keys():
                raise LevelFileError(f"{source}: missing level field '{f.name}'")
            value = levels.get(f.name)
            expected = (batch, *f.shape)
            if tuple(value.shape) != expected:
                raise LevelFileError(
                    f"{source}: field '{f.name}' has shape {tuple(value.shape[1:])} per level, expected {f.shape}"
                )
            out[f.name] = _cast_checked(value, f, source)
        result = TensorDict(out, batch_size=[batch], device=levels.device)
        if self.check is not None:
            try:
                self.check(result)
            except LevelFileError as err:
                raise LevelFileError(f"{source}: {err}") from None
        return result

    # ------------------------------------------------------------------ files
    def save(self, levels: TensorDict, path: str | os.PathLike, names: Sequence[str] | None = None) -> None:
        """Write a validated batch to ``.json`` or ``.safetensors`` atomically."""
        levels = self.validate(levels.to("cpu"))
        path = Path(path)
        if path.suffix == ".json":
            payload = {
                FORMAT_KEY: self.format_name,
                VERSION_KEY: self.version,
                "levels": [self._level_to_json(levels[i]) for i in range(levels.batch_size[0])],
            }
            if names is not None:
                for entry, name in zip(payload["levels"], names):
                    entry["name"] = name
            data = json.dumps(payload, indent=1).encode()
        elif path.suffix == ".safetensors":
            from safetensors.torch import save

            meta = {FORMAT_KEY: self.format_name, VERSION_KEY: str(self.version)}
            if names is not None:
                meta["names"] = json.dumps(list(names))
            data = save({k: v.contiguous() for k, v in levels.items()}, metadata=meta)
        else:
            raise LevelFileError(f"{path}: level files end in .json or .safetensors")
        atomic_write_bytes(path, data)

    def load(self, path: str | os.PathLike, device: torch.device | str = "cpu") -> TensorDict:
        """Read and validate a level file; raises ``LevelFileError`` naming the offending field."""
        levels, _ = self.load_with_names(path, device)
        return levels

    def load_with_names(
        self, path: str | os.PathLike, device: torch.device | str = "cpu"
    ) -> tuple[TensorDict, list[str]]:
        """Read and validate a level file; also return each level's name (file stem + index if unnamed)."""
        path = Path(path)
        if not path.is_file():
            raise LevelFileError(f"{path}: no such level file")
        if path.suffix == ".json":
            levels, names = self._load_json(path)
        elif path.suffix == ".safetensors":
            levels, names = self._load_safetensors(path)
        else:
            raise LevelFileError(f"{path}: level files end in .json or .safetensors")
        return self.validate(levels, source=str(path)).to(device), names

    def _check_header(self, source: str, fmt: object, version: object) -> None:
        if fmt != self.format_name:
            raise LevelFileError(f"{source}: field 'format' is {fmt!r}, expected {self.format_name!r}")
        try:
            version = int(version)  # type: ignore[arg-type]
        except (TypeError, ValueError):
            raise LevelFileError(f"{source}: field 'version' is {version!r}, expected an integer") from None
        if version > self.version:
            raise LevelFileError(
                f"{source}: field 'version' is {version}, newer than this code's {self.version}"
            )

    def _load_json(self, path: Path) -> tuple[TensorDict, list[str]]:
        source = str(path)
        try:
            payload = json.loads(path.read_text())
        except json.JSONDecodeError as err:
            raise LevelFileError(f"{source}: not valid JSON ({err})") from None
        if not isinstance(payload, dict):
            raise LevelFileError(f"{source}: top level must be an object with 'format', 'version', 'levels'")
        self._check_header(source, payload.get(FORMAT_KEY), payload.get(VERSION_KEY))
        entries = payload.get("levels")
        if not isinstance(entries, list) or not entries:
            raise LevelFileError(f"{source}: field 'levels' must be a non-empty list")
        columns: dict[str, list[torch.Tensor]] = {f.name: [] for f in self.fields}
        names = []
        for i, entry in enumerate(entries):
            where = f"{source}: levels[{i}]"
            if not isinstance(entry, dict):
                raise LevelFileError(f"{where}: each level is an object of fields")
            unknown = sorted(set(entry) - set(columns) - {"name"})
            if unknown:
                raise LevelFileError(f"{where}: unknown level field(s) {unknown}")
            names.append(str(entry.get("name", f"{path.stem}_{i}")))
            for f in self.fields:
                if f.name not in entry:
                    raise LevelFileError(f"{where}: missing level field '{f.name}'")
                columns[f.name].append(_json_to_tensor(entry[f.name], f, where))
        levels = TensorDict({k: torch.stack(v) for k, v in columns.items()}, batch_size=[len(entries)])
        return levels, names

    def _load_safetensors(self, path: Path) -> tuple[TensorDict, list[str]]:
        from safetensors import safe_open

        source = str(path)
        try:
            with safe_open(str(path), framework="pt") as handle:
                meta = handle.metadata() or {}
                tensors = {k: handle.get_tensor(k) for k in handle.keys()}
        except Exception as err:  # safetensors raises its own error types for corrupt headers
            raise LevelFileError(f"{source}: not a readable safetensors file ({err})") from None
        self._check_header(source, meta.get(FORMAT_KEY), meta.get(VERSION_KEY))
        batches = {v.shape[0] if v.dim() else -1 for v in tensors.values()}
        if len(batches) != 1 or -1 in batches:
            raise LevelFileError(f"{source}: fields disagree on the number of levels ({sorted(batches)})")
        batch = batches.pop()
        names = json.loads(meta["names"]) if "names" in meta else [f"{path.stem}_{i}" for i in range(batch)]
        return TensorDict(tensors, batch_size=[batch]), names

    def _level_to_json(self, level: TensorDict) -> dict:
        entry = {}
        for f in self.fields:
            value = level.get(f.name)
            if f.grid:
                entry[f.name] = ["".join("#" if v else "." for v in row) for row in reversed(value.tolist())]
            elif f.dtype.is_floating_point:
                entry[f.name] = np.round(value.numpy().astype(np.float64), 6).tolist()
            else:
                entry[f.name] = value.tolist()
        return entry


def _json_to_tensor(value: object, f: LevelField, where: str) -> torch.Tensor:
    """Turn one JSON field value into a tensor of the field's dtype, or raise naming the field."""
    if f.grid and isinstance(value, list) and all(isinstance(r, str) for r in value):
        bad = {c for row in value for c in row} - set(GRID_CHARS)
        if bad:
            raise LevelFileError(f"{where}: field '{f.name}' has characters {sorted(bad)}; use '#' and '.'")
        if len({len(r) for r in value}) > 1:
            raise LevelFileError(f"{where}: field '{f.name}' rows have different lengths")
        value = [[GRID_CHARS[c] for c in row] for row in reversed(value)]  # top row first in files
    try:
        array = np.asarray(value, dtype=np.float64)
    except (TypeError, ValueError):
        raise LevelFileError(f"{where}: field '{f.name}' is not a numeric array") from None
    if array.shape != f.shape:
        raise LevelFileError(f"{where}: field '{f.name}' has shape {array.shape}, expected {f.shape}")
    return _cast_checked(torch.from_numpy(array), f, where)


def _cast_checked(value: torch.Tensor, f: LevelField, where: str) -> torch.Tensor:
    """Cast to the field's dtype after checking finiteness, integrality and range."""
    as_float = value.double()
    if not torch.isfinite(as_float).all():
        raise LevelFileError(f"{where}: field '{f.name}' contains NaN or inf")
    if not f.dtype.is_floating_point and not torch.equal(as_float, as_float.round()):
        raise LevelFileError(f"{where}: field '{f.name}' must hold integers")
    if f.low is not None and as_float.numel() and as_float.min() < f.low:
        raise LevelFileError(f"{where}: field '{f.name}' has value {as_float.min().item():g} below {f.low:g}")
    if f.high is not None and as_float.numel() and as_float.max() > f.high:
        raise LevelFileError(f"{where}: field '{f.name}' has value {as_float.max().item():g} above {f.high:g}")
    if f.dtype == torch.bool:
        return value.bool()
    return value.to(f.dtype)


def atomic_write_bytes(path: str | os.PathLike, data: bytes) -> None:
    """Write ``data`` to ``path`` via a temporary file and rename, so readers never see a partial file."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def bounds_check(name: str, ok: torch.Tensor, message: str) -> None:
    """Raise ``LevelFileError`` naming field ``name`` for the first level where ``ok`` is False."""
    if not bool(ok.all()):
        bad = int((~ok).nonzero()[0, 0]) if ok.dim() else 0
        raise LevelFileError(f"level {bad}: field '{name}' {message}")


__all__ = [
    "LevelField",
    "LevelSchema",
    "LevelFileError",
    "atomic_write_bytes",
    "bounds_check",
]
