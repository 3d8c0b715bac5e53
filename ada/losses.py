"""Loss modules: each takes a minibatch of sequences and returns named loss terms and metrics.

The update step runs the trained policy once per minibatch and hands every loss module the same
minibatch ``TensorDict [B]`` (entries ``[B, T, ...]``) and the policy's outputs on it; the summed
loss is ``Σ coefficient · term`` over every module's terms. A new loss (distillation from a frozen
teacher, an auxiliary prediction, ...) is a new ``LossModule`` passed to ``PPOModule(extra_losses=[...])``.

Examples:
    >>> class BehaviourCloning(LossModule):
    ...     '''Imitate the rollout's own actions (a toy extra term).'''
    ...     def __init__(self, weight: float) -> None:
    ...         super().__init__()
    ...         self.coefficients = {"bc": weight}
    ...     def forward(self, batch, out):
    ...         nll = -out.dist.log_prob(batch["action"])  # [B, T]
    ...         return LossOutput({"bc": masked_mean(nll, batch.get("train_mask", None))})
    >>> module = PPOModule(env=EnvConfig(num_envs=16), extra_losses=[BehaviourCloning(0.1)])
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import torch
from tensordict import TensorDictBase
from torch import nn
from torch.distributions import Distribution

from .config import PPOConfig
from .ppo import entropy_bonus, masked_mean, normalize, policy_loss, value_loss

__all__ = ["PolicyOutput", "LossOutput", "LossModule", "PPOLoss", "combine", "masked_mean"]


@dataclass
class PolicyOutput:
    """The trained policy run over a minibatch's sequences (once, shared by every loss module)."""

    dist: Distribution  # action distribution, batch [B, T]
    value: torch.Tensor  # [B, T]


@dataclass
class LossOutput:
    """Named scalar loss terms (weighted by the module's ``coefficients`` in the sum) and scalar metrics to log."""

    terms: dict[str, torch.Tensor]
    metrics: dict[str, torch.Tensor] = field(default_factory=dict)


class LossModule(nn.Module):
    """One source of loss terms over a minibatch of sequences.

    Subclasses set ``coefficients`` (term name → weight in the summed loss; a bonus to maximise has a
    negative weight) and implement ``forward``. Optional hooks, all no-ops here:

    * ``set_progress(env_steps)``: once per iteration, before ``prepare``: the run's env steps so far (all
      ranks), for coefficients that follow a schedule (a distillation weight that decays);
    * ``start(rows, device)``: at train start, allocate per-sequence state for ``rows = N·A`` rows
      (e.g. a teacher's memory or Transformer-XL cache) on the training device;
    * ``prepare(seq)``: once per iteration, on the whole rollout ``[N·A]`` before minibatching (e.g. a
      teacher runs along the student's trajectories from its carried memory and stores its targets in
      ``seq``; minibatches then carry them);
    * ``runtime_state()`` / ``load_runtime_state(state)``: this rank's per-run state (that memory), saved
      in checkpoints with the env and the collector by :class:`ada.runtime.RunState`. Parameters and
      buffers (a frozen teacher's weights) are saved with the module's ``state_dict`` as usual.

    Minibatch keys: ``obs [B, T, D]``, ``action [B, T, ...]``, ``log_prob [B, T]`` and ``value [B, T]``
    of the rollout, ``memory [B, ...]`` (the core's memory at the window start), ``is_init [B, T]``,
    ``advantage [B, T]``, ``target [B, T]`` (value targets) and, with robust PLR, ``train_mask [B, T]``
    (the steps that take a gradient; every mean should be restricted to them).
    """

    coefficients: dict[str, float]

    def start(self, rows: int, device: torch.device) -> None:
        """Allocate per-sequence state for ``rows`` sequences (called once per run, before a resume is applied)."""

    def set_progress(self, env_steps: int) -> None:
        """The run's env steps (summed over ranks) before this iteration's update; update scheduled coefficients."""

    def prepare(self, seq: TensorDictBase) -> None:
        """Look at the whole rollout ``[N·A]`` once per iteration, before the minibatch updates."""

    def forward(self, batch: TensorDictBase, out: PolicyOutput) -> LossOutput:
        """Terms and metrics of one minibatch ``[B]`` of sequences."""
        raise NotImplementedError

    def runtime_state(self) -> dict[str, Any] | None:
        """This rank's per-run state (CPU tensors), or None if the module keeps none."""
        return None

    def load_runtime_state(self, state: dict[str, Any] | None) -> None:
        """Restore what ``runtime_state`` returned."""


class PPOLoss(LossModule):
    """Clipped policy surrogate, clipped value error and entropy bonus, masked to ``train_mask`` when present.

    Our own rather than TorchRL's ``ClipPPOLoss``: its value and policy forwards are TensorDict modules
    run step by step, while ours share one sequence forward through the memory core, and its
    normalisation and metrics would change the numbers of every existing run.
    """

    def __init__(self, cfg: PPOConfig) -> None:
        super().__init__()
        self.cfg = cfg
        self.coefficients = {"policy": cfg.pg_coef, "value": cfg.vf_coef, "entropy": -cfg.ent_coef}

    def forward(self, batch: TensorDictBase, out: PolicyOutput) -> LossOutput:
        """Policy, value and entropy terms of a minibatch; approx-KL and clipped fraction as metrics."""
        cfg = self.cfg
        mask = batch.get("train_mask", None)  # [B, T] steps that take a gradient (robust PLR)
        adv = batch["advantage"]  # [B, T]
        if cfg.normalize_advantages:
            adv = normalize(adv, mask=mask)
        pl, kl, clip_frac = policy_loss(out.dist.log_prob(batch["action"]), batch["log_prob"], adv, cfg.clip_eps,
                                        mask=mask)
        vl = value_loss(out.value, batch["value"], batch["target"], cfg.value_clip, mask=mask)
        ent = entropy_bonus(out.dist.entropy(), mask=mask)
        return LossOutput({"policy": pl, "value": vl, "entropy": ent}, {"approx_kl": kl, "clip_frac": clip_frac})


def combine(losses: list[LossModule], batch: TensorDictBase,
            out: PolicyOutput) -> tuple[torch.Tensor, dict[str, torch.Tensor], dict[str, torch.Tensor]]:
    """(summed loss, every term, every metric) of ``losses`` on one minibatch; names must not repeat."""
    total: torch.Tensor | None = None
    terms: dict[str, torch.Tensor] = {}
    metrics: dict[str, torch.Tensor] = {}
    for loss in losses:
        got = loss(batch, out)
        for name, term in got.terms.items():
            if name in terms:
                raise ValueError(f"loss term {name!r} of {type(loss).__name__} repeats another module's term")
            terms[name] = term
            weighted = loss.coefficients[name] * term
            total = weighted if total is None else total + weighted
        for name, value in got.metrics.items():
            if name in metrics or name in terms:
                raise ValueError(f"metric {name!r} of {type(loss).__name__} repeats another name")
            metrics[name] = value
    if total is None:
        raise ValueError("no loss terms: every loss module returned an empty LossOutput")
    return total, terms, metrics
