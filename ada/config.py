"""Configuration dataclasses of a training run (experiment YAMLs only set their values)."""
from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any


@dataclass
class TrialConfig:
    """Meta-RL trials: an episode is K trials of one level, memory kept across them (``ada.trials``).

    K is ``k_min`` (fixed), or drawn per episode uniformly from ``[k_min, k_max]`` by each env row's
    own random stream. ``k_min = 1`` with no ``k_max`` (the default) is ordinary RL, bit-identical to a
    run without trials. The policy inputs (RL²/AdA: previous action and reward, trial index, trial-start
    flag) are appended to ``("agents", "observation")``; ``inputs=None`` turns them on iff K can exceed 1.
    """

    k_min: int = 1  # trials per episode (the lower end of the range when k_max is set)
    k_max: int | None = None  # None: K = k_min in every episode
    inputs: bool | None = None  # append the trial inputs to the observation (None: iff K can exceed 1)
    prev_action: bool = True  # previous action (one-hot per discrete channel; raw if continuous), 0 after a reset
    prev_reward: bool = True  # the robot's previous reward, 0 after a reset
    trial_index: str = "index"  # "index" (0, 1, 2, ...) | "fraction" (trial / K) | "none"
    trial_start: bool = True  # 1 at the first step of every trial

    def __post_init__(self) -> None:
        if self.k_min < 1 or (self.k_max is not None and self.k_max < self.k_min):
            raise ValueError(f"TrialConfig: need 1 <= k_min <= k_max, got k_min={self.k_min}, k_max={self.k_max}")
        if self.trial_index not in ("index", "fraction", "none"):
            raise ValueError(f"TrialConfig.trial_index must be index, fraction or none, got {self.trial_index!r}")

    @property
    def max_trials(self) -> int:
        """The largest K an episode can have."""
        return self.k_max if self.k_max is not None else self.k_min

    @property
    def with_inputs(self) -> bool:
        """Whether the policy sees the trial inputs."""
        return self.max_trials > 1 if self.inputs is None else self.inputs

    @property
    def active(self) -> bool:
        """Whether envs need the trial transforms at all (off: exactly the env without trials)."""
        return self.max_trials > 1 or self.with_inputs


@dataclass
class EnvConfig:
    """Which world to train in and how many envs each rank runs."""

    world: str = ""  # a registered world (`ada worlds`) or "some.module:WORLD"; required
    num_envs: int = 256
    overrides: dict[str, Any] = field(default_factory=dict)  # fields of the world's config dataclass
    trials: TrialConfig = field(default_factory=TrialConfig)  # meta-RL trials per episode (off by default)

    def __post_init__(self) -> None:
        if isinstance(self.trials, dict):  # from saved hyper-parameters (asdict)
            self.trials = TrialConfig(**self.trials)


@dataclass
class PPOConfig:
    """PPO with GAE; every rollout is ``num_envs × rollout_len`` env steps per rank."""

    rollout_len: int = 64
    total_env_steps: int = 1_000_000  # summed over ranks
    gamma: float = 0.99
    gae_lambda: float = 0.95
    clip_eps: float = 0.2
    value_clip: float | None = 0.2  # None: unclipped value loss
    pg_coef: float = 1.0  # clipped policy-gradient term weight (0, with vf_coef 0 and ent_coef 0: no RL loss)
    vf_coef: float = 0.5
    ent_coef: float = 0.01
    epochs: int = 4
    minibatches: int = 4
    max_grad_norm: float = 0.5
    lr: float = 3e-4
    lr_schedule: str = "linear"  # "constant" | "linear" | "cosine"
    normalize_advantages: bool = True
    nonfinite_world_tolerance: float = 0.0  # share of steps a world may end on a non-finite state; 0: stop at one
    bf16_update: bool = False  # autocast the update's forward and loss to bfloat16 on CUDA (no-op on CPU)

    def __post_init__(self) -> None:
        problems = []
        if self.rollout_len < 1 or self.epochs < 1 or self.minibatches < 1:
            problems.append("rollout_len, epochs and minibatches must be >= 1")
        if not 0.0 <= self.gamma <= 1.0 or not 0.0 <= self.gae_lambda <= 1.0:
            problems.append("gamma and gae_lambda must be in [0, 1]")
        if self.clip_eps <= 0 or self.lr <= 0 or self.max_grad_norm <= 0:
            problems.append("clip_eps, lr and max_grad_norm must be > 0")
        if not 0.0 <= self.nonfinite_world_tolerance <= 1.0:
            problems.append(f"nonfinite_world_tolerance must be in [0, 1], got {self.nonfinite_world_tolerance}")
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
