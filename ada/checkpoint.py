"""Checkpoint files: atomic writes, and the run folder's checkpoint callback."""
from __future__ import annotations

import io
import os
from pathlib import Path
from typing import Any

import torch
from lightning.pytorch.callbacks import ModelCheckpoint
from lightning.pytorch.plugins.io import TorchCheckpointIO

from envs_warp.core.levels import atomic_write_bytes


class AtomicCheckpointIO(TorchCheckpointIO):
    """Writes each checkpoint to a temporary file in the same folder, fsyncs, then renames over the target."""

    def save_checkpoint(self, checkpoint: dict[str, Any], path: str | os.PathLike, storage_options: Any = None) -> None:
        buffer = io.BytesIO()
        torch.save(checkpoint, buffer)
        atomic_write_bytes(path, buffer.getvalue())

    def load_checkpoint(self, path: str | os.PathLike, map_location: Any = None, weights_only: bool | None = None) -> dict[str, Any]:
        """Load a run's own checkpoint (it holds RNG states and env state, so not weights-only)."""
        if not Path(path).is_file():
            raise FileNotFoundError(f"no checkpoint at {path}")
        return torch.load(path, map_location=map_location or "cpu", weights_only=False)


class RunCheckpoint(ModelCheckpoint):
    """``ModelCheckpoint`` into ``<default_root_dir>/checkpoints`` every ``every`` iterations, keeping ``last.ckpt``."""

    def __init__(self, every: int = 10) -> None:
        super().__init__(dirpath=None, filename="iter{epoch:05d}", every_n_epochs=every, save_last=True,
                         save_top_k=-1, auto_insert_metric_name=False, save_on_train_epoch_end=True)

    def setup(self, trainer, pl_module, stage: str) -> None:
        self.dirpath = str(checkpoint_dir(trainer.default_root_dir))
        super().setup(trainer, pl_module, stage)

    def on_train_epoch_end(self, trainer, pl_module) -> None:
        """Periodic saves, plus the final iteration's (so ``last.ckpt`` is the trained model, not an older one)."""
        final = trainer.max_epochs is not None and trainer.current_epoch + 1 >= trainer.max_epochs
        if final and not self._should_skip_saving_checkpoint(trainer):
            candidates = self._monitor_candidates(trainer)
            self._save_topk_checkpoint(trainer, candidates)
            self._save_last_checkpoint(trainer, candidates)
            return
        super().on_train_epoch_end(trainer, pl_module)


def checkpoint_dir(root: str | os.PathLike) -> Path:
    """Where a run keeps its checkpoints."""
    return Path(root) / "checkpoints"


def last_checkpoint(root: str | os.PathLike) -> Path | None:
    """The run's ``last.ckpt`` if a previous attempt left one."""
    path = checkpoint_dir(root) / "last.ckpt"
    return path if path.is_file() else None
