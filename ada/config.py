"""Configuration dataclasses of a training run (experiment YAMLs only set their values)."""
from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any


@dataclass
class EnvConfig:
    """Which world to train in and how many envs each rank runs."""

    world: str = ""  # a registered world (`ada worlds`) or "some.module:WORLD"; required
    num_envs: int = 256
    overrides: dict[str, Any] = field(default_factory=dict)  # fields of the world's config dataclass


@dataclass
class PPOConfig:
    """PPO with GAE; every rollout is ``num_envs × rollout_len`` env steps per rank."""

    rollout_len: int = 64
    total_env_steps: int = 1_000_000  # summed over ranks
    gamma: float = 0.99
    gae_lambda: float = 0.95
    clip_eps: float = 0.2
    value_clip: float | None = 0.2  # None: unclipped value loss
    vf_coef: float = 0.5
    ent_coef: float = 0.01
    epochs: int = 4
    minibatches: int = 4
    max_grad_norm: float = 0.5
    lr: float = 3e-4
    lr_schedule: str = "linear"  # "constant" | "linear" | "cosine"
    normalize_advantages: bool = True

    def __post_init__(self) -> None:
        problems = []
        if self.rollout_len < 1 or self.epochs < 1 or self.minibatches < 1:
            problems.append("rollout_len, epochs and minibatches must be >= 1")
        if not 0.0 <= self.gamma <= 1.0 or not 0.0 <= self.gae_lambda <= 1.0:
            problems.append("gamma and gae_lambda must be in [0, 1]")
        if self.clip_eps <= 0 or self.lr <= 0 or self.max_grad_norm <= 0:
            problems.append("clip_eps, lr and max_grad_norm must be > 0")
        if self.lr_schedule not in ("constant", "linear", "cosine"):
            problems.append(f"lr_schedule must be constant, linear or cosine, got {self.lr_schedule!r}")
        if problems:
            raise ValueError("PPOConfig: " + "; ".join(problems))


def fingerprint(**parts: Any) -> dict[str, Any]:
    """Flat dict of the config values a checkpoint must agree on to be loaded."""
    out: dict[str, Any] = {}
    for name, value in parts.items():
        data = asdict(value) if hasattr(value, "__dataclass_fields__") else value
        if isinstance(data, dict):
            for k, v in data.items():
                out[f"{name}.{k}"] = v
        else:
            out[name] = data
    return out
