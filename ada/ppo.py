"""PPO pieces: GAE (TorchRL's estimator) and the clipped policy, clipped value and entropy terms."""
from __future__ import annotations

import torch
from torchrl.objectives.value.functional import vec_generalized_advantage_estimate


def gae(reward: torch.Tensor, value: torch.Tensor, next_value: torch.Tensor, done: torch.Tensor,
        terminated: torch.Tensor, gamma: float, lam: float) -> tuple[torch.Tensor, torch.Tensor]:
    """Advantages and value targets ``[B, T]`` for sequences ``[B, T]``.

    ``done`` cuts the recursion (episode end of any kind); ``terminated`` also zeroes the bootstrap
    value, so a time-limit truncation bootstraps from ``next_value``.
    """
    adv, target = vec_generalized_advantage_estimate(
        gamma, lam, value.unsqueeze(-1), next_value.unsqueeze(-1), reward.unsqueeze(-1),
        done.unsqueeze(-1), terminated.unsqueeze(-1), time_dim=-2,
    )
    return adv.squeeze(-1), target.squeeze(-1)


def masked_mean(x: torch.Tensor, mask: torch.Tensor | None = None) -> torch.Tensor:
    """Mean of ``x`` over the entries where ``mask`` is set (all entries when ``mask`` is None; 0 when none are)."""
    if mask is None:
        return x.mean()
    m = mask.to(x.dtype)
    return (x * m).sum() / m.sum().clamp(min=1)


def policy_loss(log_prob: torch.Tensor, old_log_prob: torch.Tensor, advantage: torch.Tensor,
                clip_eps: float, mask: torch.Tensor | None = None) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Clipped surrogate ``-E[min(r·A, clip(r)·A)]``; also returns approx-KL and the clipped fraction.

    ``mask`` (same shape, bool) restricts every mean to the steps that take a gradient (robust PLR).
    """
    log_ratio = log_prob - old_log_prob
    ratio = log_ratio.exp()
    surrogate = torch.minimum(ratio * advantage, ratio.clamp(1 - clip_eps, 1 + clip_eps) * advantage)
    approx_kl = masked_mean((ratio - 1) - log_ratio, mask)
    clip_frac = masked_mean(((ratio - 1).abs() > clip_eps).float(), mask)
    return -masked_mean(surrogate, mask), approx_kl, clip_frac


def value_loss(value: torch.Tensor, old_value: torch.Tensor, target: torch.Tensor,
               clip: float | None, mask: torch.Tensor | None = None) -> torch.Tensor:
    """``0.5·E[max((v - R)², (clip(v) - R)²)]`` (or the plain squared error when ``clip`` is None)."""
    unclipped = (value - target) ** 2
    if clip is None:
        return 0.5 * masked_mean(unclipped, mask)
    clipped = (old_value + (value - old_value).clamp(-clip, clip) - target) ** 2
    return 0.5 * masked_mean(torch.maximum(unclipped, clipped), mask)


def entropy_bonus(entropy: torch.Tensor, mask: torch.Tensor | None = None) -> torch.Tensor:
    """Mean entropy (the loss subtracts ``ent_coef`` times this)."""
    return masked_mean(entropy, mask)


def normalize(x: torch.Tensor, eps: float = 1e-8, mask: torch.Tensor | None = None) -> torch.Tensor:
    """Zero-mean, unit-std copy of ``x`` (statistics over the ``mask``ed entries when given)."""
    if mask is None:
        return (x - x.mean()) / (x.std() + eps)
    mean = masked_mean(x, mask)
    var = masked_mean((x - mean) ** 2, mask) * (mask.sum() / (mask.sum() - 1).clamp(min=1))
    return (x - mean) / (var.sqrt() + eps)
