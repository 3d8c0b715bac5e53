"""Kickstarting (Schmitt et al. 2018; AdA 2023): distil frozen teachers into the student along its own trajectories.

:class:`DistillationLoss` adds ``weight · mean_teachers KL(teacher ‖ student)`` per step to PPO's loss (and,
optionally, a value distillation term). The student acts; every teacher runs its own memory along the
student's rollout (``prepare``), with the same episode masks (``is_init``: trial boundaries are not resets,
so memory runs across trials), and carries it from one rollout to the next: a GRU teacher's hidden state, a
Transformer-XL teacher's cache. That memory is runtime state, checkpointed with the run, so a resumed run
continues bit-identically. Teachers are loaded from ada checkpoints as data only
(:func:`ada.checkpoint.load_module`), frozen and kept outside the module tree: no gradient, no optimiser state,
nothing of theirs in the student's ``state_dict`` (a student checkpoint loads in plain ``ada eval``).

The weight follows :class:`KickstartConfig`'s schedule over env steps: constant for ``hold_steps``, then a
linear or exponential decay to 0 over ``decay_steps``; at 0 the teachers are no longer run. :class:`LayerReset`
is the one-model alternative (Nikishin et al. 2022): re-initialise the last k layers every P env steps.

Examples:
    >>> module = PPOModule(env=EnvConfig(world="lidarnav", num_envs=16), policy=PolicyConfig(**MODEL_SIZES["10M"]),
    ...                    kickstart=KickstartConfig(teacher="runs/small/checkpoints/last.ckpt", weight=1.0,
    ...                                              hold_steps=200_000, decay_steps=800_000))
    >>> train(module, "runs/kickstarted")  # logged: loss/distill (the KL), loss/distill_weight, entropies
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Sequence

import torch
from tensordict import TensorDictBase
from torch.distributions import kl_divergence

from models.actor_critic import ActionSpace, ActorCritic, PolicyConfig

from .losses import LossModule, LossOutput, PolicyOutput, masked_mean
from .train_args import ConfigError

__all__ = ["KickstartConfig", "DistillationLoss", "LayerReset", "load_teacher", "kickstart_parts"]


@dataclass
class KickstartConfig:
    """Kickstarting: distil frozen teachers into the student (a decaying weight), and/or periodic layer resets."""

    teacher: str | list[str] | None = None  # teacher checkpoint(s) (.ckpt or .safetensors); None: no distillation
    weight: float = 1.0  # distillation weight while held
    hold_steps: int | None = None  # env steps at full weight (None: the whole run)
    decay_steps: int = 0  # then decay to 0 over this many env steps (0: drop to 0 at once)
    decay: str = "linear"  # "linear" | "exponential" (weight·exp(-decay_rate·x) at progress x, 0 at the end)
    decay_rate: float = 5.0  # exponential decay only
    value_coef: float = 0.0  # value distillation: this × weight × ½(student value − mean teacher value)²
    reset_layers: int = 0  # layer resets: re-initialise the last k layers (heads count as one) ...
    reset_every: int = 0  # ... every this many env steps (0: never)

    def __post_init__(self) -> None:
        problems = []
        if self.weight < 0 or self.value_coef < 0 or self.decay_rate <= 0:
            problems.append("weight and value_coef must be >= 0 and decay_rate > 0")
        if (self.hold_steps is not None and self.hold_steps < 0) or self.decay_steps < 0:
            problems.append("hold_steps and decay_steps must be >= 0")
        if self.decay not in ("linear", "exponential"):
            problems.append(f"decay must be linear or exponential, got {self.decay!r}")
        if self.reset_layers < 0 or self.reset_every < 0 or (self.reset_layers > 0) != (self.reset_every > 0):
            problems.append("reset_layers and reset_every must both be > 0 (resets on) or both 0 (off)")
        if problems:
            raise ValueError("KickstartConfig: " + "; ".join(problems))

    @property
    def teachers(self) -> list[str]:
        """The teacher checkpoint paths (none, one or several)."""
        if self.teacher is None or self.teacher == "":
            return []
        return [self.teacher] if isinstance(self.teacher, str) else [str(p) for p in self.teacher]

    def weight_at(self, env_steps: int) -> float:
        """The distillation weight after ``env_steps`` env steps (summed over ranks)."""
        if self.hold_steps is None or env_steps < self.hold_steps:
            return self.weight
        if self.decay_steps <= 0:
            return 0.0
        x = (env_steps - self.hold_steps) / self.decay_steps  # progress through the decay, 0 → 1
        if x >= 1.0:
            return 0.0
        return self.weight * (1.0 - x) if self.decay == "linear" else self.weight * math.exp(-self.decay_rate * x)


def load_teacher(path: str, obs_dim: int, action: ActionSpace) -> ActorCritic:
    """The frozen actor-critic of an ada checkpoint (read as data only), refused if its spaces differ from the
    student's (:class:`ConfigError`, one line naming the fields)."""
    from .checkpoint import load_module
    from .worlds import describe

    module = load_module(path)
    t_obs, t_action, _ = describe(module.env_cfg)
    diffs = []
    if t_obs != obs_dim:
        diffs.append(f"observation size {t_obs} vs {obs_dim}")
    for name in ("kind", "n", "nvec", "low", "high"):
        ours, theirs = getattr(action, name), getattr(t_action, name)
        if name in ("low", "high"):
            ours, theirs = [round(v, 6) for v in ours], [round(v, 6) for v in theirs]
        if ours != theirs:
            diffs.append(f"action.{name} {theirs} vs {ours}")
    if diffs:
        raise ConfigError(f"kickstart.teacher {path}: the teacher's observation/action spaces do not match the "
                          f"student's (teacher vs student: {'; '.join(diffs)})")
    return module.model


class DistillationLoss(LossModule):
    """``KL(teacher ‖ student)`` per step over the student's trajectories, averaged over teachers (and masked
    steps), plus optional value distillation; terms ``distill`` (and ``distill_value``), weighted by the schedule.

    ``teachers`` (frozen ``ActorCritic`` modules) replace loading ``cfg.teacher`` (the Python API's way to pass
    models in memory). Per-step KLs are summed over the channels of a multi-discrete head and in closed form for
    a Gaussian head (``torch.distributions.kl_divergence``).
    """

    def __init__(self, cfg: KickstartConfig, obs_dim: int, action: ActionSpace,
                 teachers: Sequence[ActorCritic] | None = None) -> None:
        super().__init__()
        self.cfg = cfg
        models = list(teachers) if teachers is not None else [load_teacher(p, obs_dim, action) for p in cfg.teachers]
        if not models:
            raise ConfigError("kickstart.teacher: distillation needs at least one teacher checkpoint")
        for teacher in models:
            teacher.requires_grad_(False)
            teacher.eval()
        # a plain list, not a ModuleList: the teachers stay out of state_dict, parameters() and DDP
        self.teachers: list[ActorCritic] = models
        self.memory: list[torch.Tensor] | None = None  # per teacher [N·A, *core.memory_shape()] (step layout)
        self.weight = cfg.weight_at(0)
        self.running = False  # whether the teachers ran on this iteration's rollout
        self.coefficients = {}
        self._set_weight(self.weight)

    def _set_weight(self, weight: float) -> None:
        self.weight = weight
        self.coefficients = {"distill": weight, "distill_value": weight * self.cfg.value_coef}

    # ------------------------------------------------------------------ hooks
    def start(self, rows: int, device: torch.device) -> None:
        """Move the teachers to the training device and give each an empty memory for ``rows`` sequences."""
        for teacher in self.teachers:
            teacher.to(device)
        self.memory = [teacher.initial_memory(rows, device) for teacher in self.teachers]

    def set_progress(self, env_steps: int) -> None:
        """Follow the weight schedule."""
        self._set_weight(self.cfg.weight_at(env_steps))

    @torch.no_grad()
    def prepare(self, seq: TensorDictBase) -> None:
        """Run every teacher along the rollout ``[N·A, T]`` from its carried memory; store its features
        ``teacher_z{i} [N·A, T, F_i]`` in ``seq`` (minibatches carry them). Skipped once the weight is 0."""
        self.running = self.weight > 0
        if not self.running:
            return
        if self.memory is None:
            self.start(seq.batch_size[0], seq["obs"].device)
        obs, is_init = seq["obs"], seq["is_init"]  # [R, T, D], [R, T]
        for i, teacher in enumerate(self.teachers):
            x = teacher.encoder(obs)  # [R, T, F]
            memory = self.memory[i]
            outs = []
            for t in range(x.shape[1]):  # the teacher's own memory, reset where the student's episodes begin
                z, memory = teacher.core.step(x[:, t], memory, is_init[:, t])
                outs.append(z)
            self.memory[i] = memory
            seq[f"teacher_z{i}"] = torch.stack(outs, dim=1)  # [R, T, F_i]

    def forward(self, batch: TensorDictBase, out: PolicyOutput) -> LossOutput:
        """The KL (and value) terms of a minibatch; the weight, teacher and student entropies as metrics."""
        weight = torch.tensor(self.weight, device=out.value.device)
        if not self.running:
            zero = torch.zeros((), device=out.value.device)
            return LossOutput({"distill": zero}, {"distill_weight": weight})
        mask = batch.get("train_mask", None)  # [B, T] steps that take a gradient (robust PLR)
        kls, entropies, values = [], [], []
        for i, teacher in enumerate(self.teachers):
            z = batch[f"teacher_z{i}"]  # [B, T, F_i]
            with torch.no_grad():
                teacher_dist = teacher.actor(z)
                values.append(teacher.critic(z))  # [B, T]
                entropies.append(masked_mean(teacher_dist.entropy(), mask))
            kls.append(masked_mean(kl_divergence(teacher_dist, out.dist), mask))  # summed over channels / dims
        terms = {"distill": torch.stack(kls).mean()}
        if self.cfg.value_coef > 0:
            target = torch.stack(values).mean(0)  # [B, T]
            terms["distill_value"] = masked_mean(0.5 * (out.value - target) ** 2, mask)
        metrics = {"distill_weight": weight, "teacher_entropy": torch.stack(entropies).mean(),
                   "student_entropy": masked_mean(out.dist.entropy().detach(), mask)}
        return LossOutput(terms, metrics)

    # ------------------------------------------------------------------ runtime state
    def runtime_state(self) -> dict[str, Any] | None:
        """Each teacher's carried memory (CPU tensors)."""
        if self.memory is None:
            return None
        return {"memory": [m.detach().cpu().clone() for m in self.memory]}

    def load_runtime_state(self, state: dict[str, Any] | None) -> None:
        """Restore the teachers' memory; a checkpoint without it (no kickstart then) leaves them empty."""
        if state is None or state.get("memory") is None:
            return
        saved = state["memory"]
        ours = self.memory or []
        shapes = [tuple(m.shape) for m in ours]
        if [tuple(m.shape) for m in saved] != shapes:
            raise ConfigError(f"kickstart: the checkpoint's teacher memory {[tuple(m.shape) for m in saved]} does not "
                              f"fit this run's teachers {shapes}; resume with the same kickstart.teacher")
        self.memory = [m.to(dst.device, dst.dtype) for m, dst in zip(saved, ours)]


class LayerReset:
    """Re-initialise the student's last ``k`` layers (``ActorCritic.layer_groups``) every ``every`` env steps.

    The fresh values are those of a new ``ActorCritic`` built under a seed of (run seed, reset number), on the CPU
    with a forked RNG: every rank resets alike and the run's RNG streams are untouched (resumes stay exact).
    The optimiser's state (Adam moments) of the reset parameters is dropped with them.
    """

    def __init__(self, k: int, every: int, obs_dim: int, action: ActionSpace, policy: PolicyConfig,
                 seed: int) -> None:
        self.k, self.every, self.seed = k, every, seed
        self.obs_dim, self.action, self.policy = obs_dim, action, policy

    def due(self, before: int, after: int) -> int | None:
        """The reset number if an iteration taking the run from ``before`` to ``after`` env steps crossed one."""
        return after // self.every if before // self.every < after // self.every else None

    def names(self, model: ActorCritic) -> list[str]:
        """Parameter and buffer names of the last ``k`` layers."""
        groups = model.layer_groups()[-self.k:]
        prefixes = tuple(f"{name}." for group in groups for name in group)
        return [name for name in model.state_dict() if name.startswith(prefixes)]

    @torch.no_grad()
    def reset(self, model: ActorCritic, optimizer: torch.optim.Optimizer | None, number: int) -> list[str]:
        """Re-initialise the last ``k`` layers of ``model`` in place (reset ``number``); returns their names."""
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(self.seed * 1_000_003 + number)
            fresh = ActorCritic(self.obs_dim, self.action, self.policy).state_dict()
        names = self.names(model)
        params = dict(model.named_parameters())
        state = model.state_dict()
        for name in names:
            state[name].copy_(fresh[name])
            if optimizer is not None and name in params:
                optimizer.state.pop(params[name], None)
        return names

    def after_iteration(self, model: ActorCritic, optimizer: torch.optim.Optimizer | None, before: int,
                        after: int) -> bool:
        """Reset if this iteration crossed a multiple of ``every`` env steps; whether it did."""
        number = self.due(before, after)
        if number is None:
            return False
        self.reset(model, optimizer, number)
        return True


def kickstart_parts(cfg: KickstartConfig | None, obs_dim: int, action: ActionSpace, policy: PolicyConfig,
                    seed: int) -> tuple[list[LossModule], LayerReset | None]:
    """The distillation loss (if ``cfg`` names teachers) and the layer reset (if on) of a run."""
    if cfg is None:
        return [], None
    losses: list[LossModule] = [DistillationLoss(cfg, obs_dim, action)] if cfg.teachers else []
    reset = LayerReset(cfg.reset_layers, cfg.reset_every, obs_dim, action, policy, seed) if cfg.reset_every else None
    return losses, reset
