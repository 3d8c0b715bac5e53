"""Checkpoint files of a run folder: atomic writes, keep-last-k, resume from the newest intact file, loading.

A run folder keeps ``checkpoints/last.ckpt`` (always the latest iteration) and the periodic
``checkpoints/iterNNNNN.ckpt`` files, of which only the newest ``keep_last`` stay. Every write goes to a
temporary file in the same folder, is fsynced, then renamed over the target, so a kill never leaves a
half-written checkpoint under a checkpoint's name. A file that is damaged anyway (a full disk, a copy
cut short) is reported by name: a resumed run falls back to the newest intact checkpoint, and
:func:`load_module` / :func:`read_checkpoint` raise :class:`CheckpointError` naming the file.
"""
from __future__ import annotations

import io
import os
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


def read_checkpoint(path: str | os.PathLike, map_location: Any = "cpu") -> dict[str, Any]:
    """The checkpoint dict at ``path``; :class:`CheckpointError` naming the file if it is missing or unreadable.

    Checkpoints hold RNG states and env state, so they are not weights-only: load only files you trust.
    """
    path = Path(path)
    if not path.is_file():
        raise CheckpointError(f"{path}: no such checkpoint file")
    try:
        state = torch.load(path, map_location=map_location, weights_only=False)
    except Exception as err:  # noqa: BLE001 - torch raises RuntimeError, UnpicklingError, EOFError, ValueError ...
        reason = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
        reason = reason.split(". ")[0]  # torch appends paragraphs of advice
        raise CheckpointError(f"{path}: not a readable checkpoint, the file is truncated or corrupt "
                              f"({os.path.getsize(path)} bytes; torch.load: {reason})") from err
    if not isinstance(state, dict) or "state_dict" not in state:
        raise CheckpointError(f"{path}: not a Lightning checkpoint (no 'state_dict' in it)")
    return state


def resume_checkpoint(root: str | os.PathLike, report: Callable[[str], None] | None = None
                      ) -> tuple[Path, dict[str, Any]] | None:
    """The newest intact checkpoint of a run folder and its contents, or ``None`` if the folder has none.

    ``last.ckpt`` is tried first, then the periodic files from the newest; each unreadable file is
    reported (one line naming it, through ``report``, default stderr) and skipped. Raises
    :class:`CheckpointError` when checkpoints exist but none is intact.
    """
    report = report or (lambda line: print(line, file=sys.stderr))
    candidates = [p for p in [last_checkpoint(root)] if p is not None] + periodic_checkpoints(root)[::-1]
    broken: list[Path] = []
    for path in candidates:
        try:
            state = read_checkpoint(path)
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
    """A ``PPOModule`` with the weights and config of a checkpoint, on the CPU (for evaluation and play)."""
    from curricula import CurriculumConfig
    from models.actor_critic import PolicyConfig

    from .config import EnvConfig, PPOConfig
    from .module import PPOModule

    path = Path(ckpt)
    state = read_checkpoint(path)
    hp = state.get("hyper_parameters")
    if not hp or "env" not in hp:
        raise CheckpointError(f"{path}: not an ada PPOModule checkpoint (no hyper_parameters.env)")
    module = PPOModule(env=EnvConfig(**hp["env"]), ppo=PPOConfig(**hp["ppo"]), policy=PolicyConfig(**hp["policy"]),
                       seed=hp.get("seed", 0), curriculum=CurriculumConfig.from_dict(hp.get("curriculum", {})))
    module.load_state_dict(state["state_dict"])
    return module


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
        """Load a run's own checkpoint (it holds RNG states and env state, so not weights-only)."""
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
