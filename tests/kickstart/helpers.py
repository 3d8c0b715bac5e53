"""Kickstarting test helpers: teachers written as ada checkpoints in seconds (no training needed)."""
from __future__ import annotations

from pathlib import Path

import torch


ROOT = Path(__file__).resolve().parents[2]
TINY = str(ROOT / "experiments" / "configs" / "lidarnav_tiny.yaml")


def save_teacher(path: Path, module, actor_scale: float = 1.0) -> Path:
    """Write ``module`` (a ``PPOModule``) as an ada checkpoint ``load_module`` reads; ``actor_scale`` sharpens its
    action head (an untrained head is nearly uniform, which a student would match by doing nothing)."""
    with torch.no_grad():
        for name, p in module.model.actor.named_parameters():
            if name != "log_std":  # the Gaussian's spread stays as initialised
                p.mul_(actor_scale)
    path.parent.mkdir(parents=True, exist_ok=True)
    torch.save({"state_dict": module.state_dict(), "hyper_parameters": dict(module.hparams)}, path)
    return path


def tiny(run_dir: Path, *extra: str) -> list[str]:
    """``ada train`` arguments of the seconds-long lidarnav config, in ``run_dir``."""
    return ["--config", TINY, "--trainer.default_root_dir", str(run_dir), "--trainer.enable_progress_bar", "false",
            "--trainer.enable_model_summary", "false", "--artifacts", "false", "--checkpoint_every", "1", *extra]


def tiny_env():
    """The environment of ``lidarnav_tiny.yaml``."""
    from ada.config import EnvConfig

    return EnvConfig(world="lidarnav", num_envs=16, overrides={"max_steps": 50})


def make_teacher(path: Path, core: str, seed: int = 5, actor_scale: float = 30.0, env=None) -> Path:
    """A teacher checkpoint of the given core (small sizes) at ``path``."""
    from ada.module import PPOModule
    from models.actor_critic import PolicyConfig

    policy = PolicyConfig(core=core, hidden=32, layers=1, heads=2, memory_len=8)
    return save_teacher(path, PPOModule(env=env or tiny_env(), policy=policy, seed=seed), actor_scale)
