"""A training run in a folder: the Trainer's loggers, checkpoints, progress line and resume; ``train()`` from Python.

``ada train`` (a LightningCLI) and :func:`train` share :func:`fit_run`: the run folder is the Trainer's
``default_root_dir``; it gets ``checkpoints/`` (periodic ``iterNNNNN.ckpt``, the newest ``keep_last``
kept, and ``last.ckpt``), ``logs/version_0/metrics.csv``, ``tb/`` and, with ``artifacts``, ``plots/``.
A folder that already holds a checkpoint resumes from its newest intact one. The number of PPO
iterations comes from ``ppo.total_env_steps`` unless ``max_iterations`` (``--trainer.max_epochs``) is given.

Example::

    from ada import EnvConfig, PPOConfig, PolicyConfig, PPOModule, train

    module = PPOModule(env=EnvConfig(world="lidarnav", num_envs=16, overrides={"max_steps": 50}),
                       ppo=PPOConfig(rollout_len=16, total_env_steps=1024), policy=PolicyConfig(hidden=32))
    train(module, "runs/python_tiny")   # 4 iterations of 16 envs x 16 steps; again: resumes (nothing left to do)
"""
from __future__ import annotations

import logging
import sys
import warnings
from pathlib import Path
from typing import Any, Sequence

from lightning.pytorch import Trainer
from lightning.pytorch.callbacks import Callback, ModelCheckpoint
from lightning.pytorch.callbacks.progress import ProgressBar
from lightning.pytorch.loggers import TensorBoardLogger

from .artifacts import RunArtifacts
from .checkpoint import AtomicCheckpointIO, RunCheckpoint, resume_checkpoint
from .module import CheckpointMismatchError
from .progress import RunProgress
from .run_logs import ResumableCSVLogger


def quiet_lightning() -> None:
    """Drop Lightning's advertising tips and warnings that do not apply to a PPO run (one batch per epoch)."""
    warnings.filterwarnings("ignore", message=".*litlogger.*|.*litmodels.*")
    warnings.filterwarnings("ignore", message=".*isinstance\\(treespec, LeafSpec\\).*")
    warnings.filterwarnings("ignore", message=".*Previous log files in this directory will be deleted.*")
    warnings.filterwarnings("ignore", message=".*smaller than the logging interval.*")
    warnings.filterwarnings("ignore", message=".*does not have many workers.*")
    warnings.filterwarnings("ignore", message=".*Checkpoint directory .* exists and is not empty.*")
    log = logging.getLogger("lightning.pytorch.utilities.rank_zero")
    if not any(isinstance(f, _NoTips) for f in log.filters):
        log.addFilter(_NoTips())


class _NoTips(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        text = str(record.msg)
        return not text.startswith(("💡 Tip", "`Trainer.fit` stopped", "Restoring states from", "Restored all states"))


def fit_run(trainer: Trainer, module, *, checkpoint_every: int = 10, keep_last: int = 3, artifacts: bool = True,
            progress: bool = True, user_callbacks: Sequence[Callback] = (), max_iterations: int | None = None):
    """Give ``trainer`` the run folder's loggers and callbacks, then fit ``module`` (resuming if possible).

    Lightning's default ``ModelCheckpoint`` and progress bar are replaced by :class:`RunCheckpoint` and
    (if ``progress``) :class:`RunProgress`; callbacks in ``user_callbacks`` are kept as they are.
    """
    root = Path(trainer.default_root_dir)
    rank_zero = trainer.global_rank == 0
    report = (lambda line: print(line, file=sys.stderr)) if rank_zero else (lambda line: None)
    found = resume_checkpoint(root, report)
    resume_epoch = None if found is None else found[1].get("epoch")
    trainer.loggers = [ResumableCSVLogger(root, name="logs", version=0, resume_epoch=resume_epoch),
                       TensorBoardLogger(root, name="tb", version=0)]
    user = {id(c) for c in user_callbacks}
    kept = [c for c in trainer.callbacks if id(c) in user or not isinstance(c, (ModelCheckpoint, ProgressBar))]
    ours: list[Callback] = [RunProgress()] if progress else []
    if artifacts:
        ours.append(RunArtifacts())
    ours.append(RunCheckpoint(every=checkpoint_every, keep_last=keep_last))  # last: saves after the others' updates
    trainer.callbacks = kept + ours
    trainer.strategy.checkpoint_io = AtomicCheckpointIO(preloaded=found)
    trainer.fit_loop.max_epochs = max_iterations or module.num_iterations(trainer.world_size)
    if found is None:
        trainer.fit(module)
        return module
    notice = f"resuming from {found[0]} ({int(found[1].get('epoch', -1)) + 1} of {trainer.fit_loop.max_epochs} " \
             f"iterations done)"
    trainer.callbacks.insert(0, _Notice(notice, report))  # said once the checkpoint was accepted
    try:
        trainer.fit(module, ckpt_path=str(found[0]))
    except CheckpointMismatchError as err:
        raise CheckpointMismatchError(f"{found[0]}: {err} (resume with the same structural config, or train in "
                                      f"another trainer.default_root_dir)") from err
    return module


class _Notice(Callback):
    """Reports a line when training starts (after a resumed checkpoint was loaded and accepted)."""

    def __init__(self, line: str, report) -> None:
        self.line, self.report = line, report

    def on_train_start(self, trainer, pl_module) -> None:
        self.report(self.line)


def train(module, run_dir: str | Path = "runs/python", *, max_iterations: int | None = None,
          checkpoint_every: int = 10, keep_last: int = 3, progress: bool = True, artifacts: bool = True,
          callbacks: Sequence[Callback] = (), accelerator: str = "auto", devices: int | str = 1,
          **trainer_kwargs: Any):
    """Train ``module`` (a ``PPOModule``) in ``run_dir`` for ``ppo.total_env_steps`` env steps; returns it trained.

    ``max_iterations`` caps the PPO iterations instead; a ``run_dir`` holding checkpoints resumes from the
    newest intact one; further keyword arguments go to ``lightning.Trainer`` (e.g. ``strategy="ddp"``).
    """
    quiet_lightning()
    user = list(callbacks)
    user_bar = any(isinstance(c, ProgressBar) for c in user)
    trainer = Trainer(default_root_dir=str(run_dir), logger=False, accelerator=accelerator, devices=devices,
                      callbacks=user, enable_progress_bar=user_bar,
                      **{"num_sanity_val_steps": 0, "log_every_n_steps": 1, "enable_model_summary": False,
                         **trainer_kwargs})
    return fit_run(trainer, module, checkpoint_every=checkpoint_every, keep_last=keep_last, artifacts=artifacts,
                   progress=progress and not user_bar, user_callbacks=user,
                   max_iterations=max_iterations)
