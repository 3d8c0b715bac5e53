"""Checkpoint files of a run folder: atomic writes, keep-last-k, resume from the newest intact file, loading.

A run folder keeps ``checkpoints/last.ckpt`` (always the latest iteration) and the periodic
``checkpoints/iterNNNNN.ckpt`` files, of which only the newest ``keep_last`` stay. Every write goes to a
temporary file in the same folder, is fsynced, then renamed over the target, so a kill never leaves a
half-written checkpoint under a checkpoint's name. A file that is damaged anyway (a full disk, a copy
cut short) is reported by name: a resumed run falls back to the newest intact checkpoint, and
:func:`load_module` / :func:`read_checkpoint` raise :class:`CheckpointError` naming the file.

Checkpoints are data, never code: every read is ``torch.load(weights_only=True)``, with no allowlist. What ada
writes is tensors in plain dicts and lists, ints, floats and strings (the runtime state is stored that way: see
``ada.runtime.RunState.state_dict``). A file that would need any other type to load (a pickle that calls code,
or a checkpoint of an ada older than this format) is refused with :class:`UnsafeCheckpointError`, one line
naming the file and the type, and is never skipped over by a resume. :func:`convert_checkpoint` (``ada convert
--trust``) rewrites an older checkpoint you trust in today's format; :func:`export_agent` (``ada export``) writes
an agent's weights and config as safetensors, which :func:`load_module` reads back.
"""
from __future__ import annotations

import io
import json
import os
import pickle
import re
import sys
from pathlib import Path
from typing import Any, Callable

import torch
from lightning.pytorch.callbacks import ModelCheckpoint
from lightning.pytorch.plugins.io import TorchCheckpointIO

from envs_warp.core.levels import atomic_write_bytes

PERIODIC = re.compile(r"^iter(\d+)\.ckpt$")  # periodic checkpoint names; the number is the iteration (epoch)


class CheckpointError(ValueError):
    """A checkpoint file that is missing, truncated, corrupt or not written by ``ada``."""


class UnsafeCheckpointError(CheckpointError):
    """A checkpoint that needs more than tensors and plain containers to load (it could run code): refused."""


AGENT_FORMAT = "ada.agent/1"  # the ``format`` metadata of an ``ada export`` safetensors file
_CONVERT_HINT = "ada convert --trust --ckpt {path} --out NEW.ckpt"


def checkpoint_dir(root: str | os.PathLike) -> Path:
    """Where a run keeps its checkpoints."""
    return Path(root) / "checkpoints"


def last_checkpoint(root: str | os.PathLike) -> Path | None:
    """The run's ``last.ckpt`` if a previous attempt left one (intact or not: see :func:`resume_checkpoint`)."""
    path = checkpoint_dir(root) / "last.ckpt"
    return path if path.is_file() else None


def periodic_checkpoints(root: str | os.PathLike) -> list[Path]:
    """The run's periodic ``iterNNNNN.ckpt`` files, oldest first."""
    folder = checkpoint_dir(root)
    if not folder.is_dir():
        return []
    found = [(int(m.group(1)), p) for p in folder.iterdir() if (m := PERIODIC.match(p.name)) and p.is_file()]
    return [p for _, p in sorted(found)]


def safe_load(path: str | os.PathLike, map_location: Any = "cpu") -> Any:
    """``torch.load(path, weights_only=True)``: tensors and plain containers only, no code runs.

    Raises :class:`UnsafeCheckpointError` (one line: the file and the type it would need) for a file that needs
    anything else, :class:`CheckpointError` naming the file for a missing, truncated or corrupt one.
    """
    path = Path(path)
    if not path.is_file():
        raise CheckpointError(f"{path}: no such checkpoint file")
    try:
        return torch.load(path, map_location=map_location, weights_only=True)
    except pickle.UnpicklingError as err:
        offending = _offending_type(str(err))
        if offending is not None:
            raise UnsafeCheckpointError(
                f"{path}: refused, loading it would need {offending}, and checkpoints are loaded as data only "
                f"(tensors, plain containers); if it is a checkpoint of an older ada that you trust, convert it: "
                f"{_CONVERT_HINT.format(path=path)}") from None
        raise CheckpointError(_unreadable(path, err)) from err
    except Exception as err:  # noqa: BLE001 - torch raises RuntimeError, EOFError, ValueError ...
        raise CheckpointError(_unreadable(path, err)) from err


def _offending_type(message: str) -> str | None:
    """The global a weights-only unpickler refused (named in torch's message), or ``None`` if it was not that."""
    for pattern in (r"Unsupported global: GLOBAL (\S+)", r"unrecognized function (\S+)", r"Unsupported class (\S+)"):
        found = re.search(pattern, message)
        if found:
            return found.group(1).rstrip(".,")
    return None


def _unreadable(path: Path, err: BaseException) -> str:
    """One line for a file torch could not read: truncated, corrupt or not a torch file."""
    text = str(err).strip()
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    detail = next((line for line in lines if not line.startswith(("Weights only load failed", "Please file",
                                                                     "Check the documentation", "WeightsUnpickler"))),
                  lines[0] if lines else type(err).__name__)
    reason = detail.split(". ")[0]  # torch appends paragraphs of advice
    return (f"{path}: not a readable checkpoint, the file is truncated or corrupt ({os.path.getsize(path)} bytes; "
            f"torch.load: {reason})")


def read_checkpoint(path: str | os.PathLike, map_location: Any = "cpu") -> dict[str, Any]:
    """The checkpoint dict at ``path``, loaded as data only (:func:`safe_load`); :class:`CheckpointError` naming the
    file if it is missing, unreadable or not a Lightning checkpoint, :class:`UnsafeCheckpointError` if it needs code."""
    path = Path(path)
    state = safe_load(path, map_location)
    if not isinstance(state, dict) or "state_dict" not in state:
        raise CheckpointError(f"{path}: not a Lightning checkpoint (no 'state_dict' in it)")
    return state


def resume_checkpoint(root: str | os.PathLike, report: Callable[[str], None] | None = None
                      ) -> tuple[Path, dict[str, Any]] | None:
    """The newest intact checkpoint of a run folder and its contents, or ``None`` if the folder has none.

    ``last.ckpt`` is tried first, then the periodic files from the newest; each unreadable file is
    reported (one line naming it, through ``report``, default stderr) and skipped. Raises
    :class:`CheckpointError` when checkpoints exist but none is intact, and :class:`UnsafeCheckpointError` at
    once for a file that would need code to load (never skipped: the run stops rather than resume around it).
    """
    report = report or (lambda line: print(line, file=sys.stderr))
    candidates = [p for p in [last_checkpoint(root)] if p is not None] + periodic_checkpoints(root)[::-1]
    broken: list[Path] = []
    for path in candidates:
        try:
            state = read_checkpoint(path)
        except UnsafeCheckpointError:
            raise
        except CheckpointError as err:
            report(f"warning: {err}; trying the previous checkpoint")
            broken.append(path)
            continue
        return path, state
    if broken:
        raise CheckpointError(f"{checkpoint_dir(root)}: no intact checkpoint to resume from (unreadable: "
                              f"{', '.join(p.name for p in broken)}); remove them or choose another "
                              f"trainer.default_root_dir")
    return None


def load_module(ckpt: str | os.PathLike):
    """A ``PPOModule`` with the weights and config of a checkpoint or an ``ada export`` ``.safetensors`` file, on the
    CPU (for evaluation and play); both are read as data only."""
    path = Path(ckpt)
    if path.suffix == ".safetensors":
        return import_agent(path)
    state = read_checkpoint(path)
    module = _module_from_hparams(state.get("hyper_parameters"), path)
    module.load_state_dict(state["state_dict"])
    return module


def _module_from_hparams(hp: Any, path: Path):
    """A fresh ``PPOModule`` from a checkpoint's ``hyper_parameters`` (plain dicts of its config dataclasses)."""
    from curricula import CurriculumConfig
    from models.actor_critic import PolicyConfig

    from .config import EnvConfig, PPOConfig
    from .module import PPOModule

    if not isinstance(hp, dict) or "env" not in hp:
        raise CheckpointError(f"{path}: not an ada PPOModule checkpoint (no hyper_parameters.env)")
    return PPOModule(env=EnvConfig(**hp["env"]), ppo=PPOConfig(**hp["ppo"]), policy=PolicyConfig(**hp["policy"]),
                     seed=hp.get("seed", 0), curriculum=CurriculumConfig.from_dict(hp.get("curriculum", {})))


def export_agent(ckpt: str | os.PathLike, out: str | os.PathLike) -> Path:
    """Write a checkpoint's agent (every parameter and buffer of its ``PPOModule``) and config to a ``.safetensors``
    file: tensors plus JSON metadata (``format``, ``hyper_parameters``), no pickle. :func:`load_module` reads it."""
    from safetensors.torch import save

    out = Path(out)
    if out.suffix != ".safetensors":
        raise CheckpointError(f"{out}: an exported agent is a .safetensors file")
    module = load_module(ckpt)
    tensors = {k: v.detach().cpu().contiguous().clone() for k, v in module.state_dict().items()}
    metadata = {"format": AGENT_FORMAT, "hyper_parameters": json.dumps(dict(module.hparams), sort_keys=True),
                "source": Path(ckpt).name}
    out.parent.mkdir(parents=True, exist_ok=True)
    atomic_write_bytes(out, save(tensors, metadata=metadata))
    return out


def import_agent(path: str | os.PathLike):
    """A ``PPOModule`` (CPU) from an ``ada export`` ``.safetensors`` file; :class:`CheckpointError` naming the file
    if it is unreadable, not an exported agent, or its tensors do not fit its config."""
    from safetensors import safe_open

    path = Path(path)
    if not path.is_file():
        raise CheckpointError(f"{path}: no such agent file")
    try:
        with safe_open(str(path), framework="pt", device="cpu") as handle:
            metadata = handle.metadata() or {}
            tensors = {key: handle.get_tensor(key) for key in handle.keys()}
    except Exception as err:  # noqa: BLE001 - safetensors raises its own error types for corrupt headers
        raise CheckpointError(f"{path}: not a readable safetensors file ({' '.join(str(err).split())})") from None
    if metadata.get("format") != AGENT_FORMAT:
        raise CheckpointError(f"{path}: not an agent written by ada export (format {metadata.get('format')!r}, "
                              f"expected {AGENT_FORMAT!r})")
    try:
        hp = json.loads(metadata["hyper_parameters"])
    except (KeyError, json.JSONDecodeError) as err:
        raise CheckpointError(f"{path}: its hyper_parameters metadata is missing or not JSON ({err})") from None
    module = _module_from_hparams(hp, path)
    try:
        module.load_state_dict(tensors)
    except RuntimeError as err:
        raise CheckpointError(f"{path}: its tensors do not fit its config ({str(err).splitlines()[0]})") from None
    return module


def convert_checkpoint(src: str | os.PathLike, out: str | os.PathLike, trust: bool = False) -> Path:
    """Rewrite a checkpoint of an older ada (runtime state as TensorDicts and NumPy arrays) in today's format,
    which loads as data only. Reading the old file unpickles it, which can run code: only with ``trust=True``."""
    from .runtime import plain_runtime_state

    src, out = Path(src), Path(out)
    if not trust:
        raise CheckpointError(f"{src}: converting unpickles the file, which can run code; pass --trust "
                              f"(trust=True) only for a checkpoint you or someone you trust wrote")
    if not src.is_file():
        raise CheckpointError(f"{src}: no such checkpoint file")
    try:
        state = torch.load(src, map_location="cpu", weights_only=False)  # the user vouched for this file
    except Exception as err:  # noqa: BLE001
        raise CheckpointError(_unreadable(src, err)) from err
    if not isinstance(state, dict) or "state_dict" not in state:
        raise CheckpointError(f"{src}: not a Lightning checkpoint (no 'state_dict' in it)")
    if "ada_runtime" in state:
        state["ada_runtime"] = [plain_runtime_state(rank) for rank in state["ada_runtime"]]
    if "hyper_parameters" in state:
        state["hyper_parameters"] = dict(state["hyper_parameters"])
    buffer = io.BytesIO()
    torch.save(state, buffer)
    try:  # what we write must load as data only
        torch.load(io.BytesIO(buffer.getvalue()), map_location="cpu", weights_only=True)
    except pickle.UnpicklingError as err:
        raise CheckpointError(f"{src}: cannot be converted, it holds {_offending_type(str(err)) or 'other objects'} "
                              f"that ada does not know how to store as data") from None
    atomic_write_bytes(out, buffer.getvalue())
    return out


class AtomicCheckpointIO(TorchCheckpointIO):
    """Writes each checkpoint to a temporary file in the same folder, fsyncs, then renames over the target.

    ``preloaded`` (path, contents) is a checkpoint already read (and so checked) by :func:`resume_checkpoint`;
    loading that path returns it instead of reading the file a second time.
    """

    def __init__(self, preloaded: tuple[Path, dict[str, Any]] | None = None) -> None:
        super().__init__()
        self._preloaded = preloaded

    def save_checkpoint(self, checkpoint: dict[str, Any], path: str | os.PathLike, storage_options: Any = None) -> None:
        buffer = io.BytesIO()
        torch.save(checkpoint, buffer)
        atomic_write_bytes(path, buffer.getvalue())
        _fsync_dir(Path(path).parent)  # the rename itself survives a power cut

    def load_checkpoint(self, path: str | os.PathLike, map_location: Any = None, weights_only: bool | None = None) -> dict[str, Any]:
        """Load a run's checkpoint as data only (:func:`read_checkpoint`), whatever ``weights_only`` Lightning asks."""
        if self._preloaded is not None and Path(path).resolve() == Path(self._preloaded[0]).resolve():
            state, self._preloaded = self._preloaded[1], None
            return state
        return read_checkpoint(path, map_location=map_location or "cpu")

    def remove_checkpoint(self, path: str | os.PathLike) -> None:
        Path(path).unlink(missing_ok=True)


def _fsync_dir(folder: Path) -> None:
    """Flush a folder's entries (a rename into it) to disk; a no-op where folders cannot be opened."""
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


class RunCheckpoint(ModelCheckpoint):
    """Checkpoints into ``<default_root_dir>/checkpoints``: ``iterNNNNN.ckpt`` every ``every`` iterations (only
    the newest ``keep_last`` are kept; 0 keeps all) and ``last.ckpt`` at every save and at the final iteration."""

    def __init__(self, every: int = 10, keep_last: int = 3) -> None:
        if every < 1:
            raise ValueError(f"checkpoint_every must be >= 1, got {every}")
        if keep_last < 0:
            raise ValueError(f"keep_last must be >= 0 (0 keeps every periodic checkpoint), got {keep_last}")
        super().__init__(dirpath=None, filename="iter{epoch:05d}", every_n_epochs=every, save_last=True,
                         save_top_k=-1, auto_insert_metric_name=False, save_on_train_epoch_end=True)
        self.keep_last = keep_last

    @property
    def state_key(self) -> str:
        """One key whatever ``every`` is, so a resumed run may change ``checkpoint_every``."""
        return type(self).__name__

    def setup(self, trainer, pl_module, stage: str) -> None:
        self.dirpath = str(checkpoint_dir(trainer.default_root_dir))
        super().setup(trainer, pl_module, stage)

    def on_train_epoch_end(self, trainer, pl_module) -> None:
        """Periodic saves, plus the final iteration's (so ``last.ckpt`` is the trained model, not an older one)."""
        final = trainer.max_epochs is not None and trainer.current_epoch + 1 >= trainer.max_epochs
        if (final or trainer.should_stop) and not self._should_skip_saving_checkpoint(trainer):
            candidates = self._monitor_candidates(trainer)
            self._save_topk_checkpoint(trainer, candidates)
            self._save_last_checkpoint(trainer, candidates)
            return
        super().on_train_epoch_end(trainer, pl_module)

    def _save_checkpoint(self, trainer, filepath: str) -> None:
        super()._save_checkpoint(trainer, filepath)
        if self.keep_last and trainer.is_global_zero and PERIODIC.match(Path(filepath).name):
            for old in periodic_checkpoints(Path(filepath).parent.parent)[: -self.keep_last]:
                old.unlink(missing_ok=True)
