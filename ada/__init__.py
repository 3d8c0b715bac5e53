"""ada: PPO (and friends) on GPU-batched Warp worlds, as TorchRL envs trained with Lightning.

The public Python API; names are imported on first use, so ``import ada`` stays light::

    import torch
    from ada import EnvConfig, PPOConfig, PolicyConfig, PPOModule, train, run_attempts, held_out_levels

    module = PPOModule(env=EnvConfig(world="lidarnav", num_envs=16, overrides={"max_steps": 50}),
                       ppo=PPOConfig(rollout_len=16, total_env_steps=1024), policy=PolicyConfig(hidden=32))
    train(module, "runs/python_tiny")                            # resumes if the folder holds checkpoints
    levels, names = held_out_levels(module.env_cfg)              # the world's hand-designed levels [L]
    outcome = run_attempts(module, levels, attempts=4, seed=1)   # {"success": [L, 4], "return": ...}

``experiments/train_from_python.py`` trains, evaluates and plots this way.
"""
from __future__ import annotations

import importlib
from typing import Any

# public name -> module that defines it
_EXPORTS: dict[str, str] = {
    # configuration
    "EnvConfig": "ada.config",
    "TrialConfig": "ada.config",
    "PPOConfig": "ada.config",
    "PolicyConfig": "models.actor_critic",
    "CurriculumConfig": "curricula",
    "KickstartConfig": "ada.kickstart",
    # training
    "PPOModule": "ada.module",
    "NonFiniteError": "ada.module",
    "CheckpointMismatchError": "ada.module",
    "train": "ada.trainer",
    "fit_run": "ada.trainer",
    "RunProgress": "ada.progress",
    "DistillationLoss": "ada.kickstart",
    "LayerReset": "ada.kickstart",
    # checkpoints
    "load_module": "ada.checkpoint",
    "read_checkpoint": "ada.checkpoint",
    "resume_checkpoint": "ada.checkpoint",
    "CheckpointError": "ada.checkpoint",
    "UnsafeCheckpointError": "ada.checkpoint",
    "safe_load": "ada.checkpoint",
    "export_agent": "ada.checkpoint",
    "import_agent": "ada.checkpoint",
    "convert_checkpoint": "ada.checkpoint",
    # evaluation and pictures
    "run_attempts": "ada.evaluate",
    "summarise": "ada.evaluate",
    "write_table": "ada.evaluate",
    "level_gif": "ada.evaluate",
    "agent_gif": "ada.evaluate",
    "evaluate_protocol": "ada.protocol",
    "solvable_eval_levels": "ada.protocol",
    "worst_alpha": "ada.protocol",
    "read_metrics": "ada.artifacts",
    "plot_curves": "ada.artifacts",
    "play": "ada.playback",
    "evaluate_zero_shot": "ada.zero_shot",
    "FinetuneConfig": "ada.finetune",
    "run_finetune": "ada.finetune",
    "CheckpointPlayer": "ada.players",
    # worlds
    "World": "envs_warp.core.world",
    "WorldError": "envs_warp.core.world",
    "get_world": "envs_warp.core.world",
    "world_names": "envs_warp.core.world",
    "LevelFileError": "envs_warp.core.levels",
    "build_env": "ada.worlds",
    "held_out_levels": "ada.worlds",
    "random_levels": "ada.worlds",
    "read_level_file": "ada.worlds",
    "scripted_policy": "ada.worlds",
    "baseline_names": "ada.worlds",
    "draw_row_fn": "ada.worlds",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    """Import a public name from its module on first use."""
    if name not in _EXPORTS:
        raise AttributeError(f"module 'ada' has no attribute {name!r}")
    value = getattr(importlib.import_module(_EXPORTS[name]), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
