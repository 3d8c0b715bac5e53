"""Scores and replay distributions of the level samplers, as pure tensor functions.

Known failure modes of public implementations are guarded here: every normalisation falls back to
uniform over the valid entries when its total is zero (all-zero scores, or every level sampled at the
current clock), and the temperature is applied as ``h ** (1 / β)`` to the rank (or score) weights.
"""
from __future__ import annotations

import torch


def learnability(success: torch.Tensor) -> torch.Tensor:
    """``p · (1 − p)``: highest (0.25) for levels solved half the time, 0 for always or never."""
    return success * (1.0 - success)


def _normalise(weights: torch.Tensor, valid: torch.Tensor) -> torch.Tensor:
    """``weights`` over the valid entries summing to 1; uniform over them when the total is 0."""
    weights = torch.where(valid, weights, torch.zeros_like(weights))
    total = weights.sum()
    uniform = valid.float() / valid.float().sum().clamp(min=1)
    return torch.where(total > 0, weights / total.clamp(min=torch.finfo(weights.dtype).tiny), uniform)


def rank_weights(scores: torch.Tensor, valid: torch.Tensor, temperature: float) -> torch.Tensor:
    """PLR's rank prioritisation ``P_i ∝ (1 / rank_i) ** (1 / β)``, rank 1 the highest valid score (ties by index)."""
    if temperature <= 0:
        raise ValueError(f"temperature must be > 0, got {temperature}")
    masked = torch.where(valid, scores, torch.full_like(scores, float("-inf")))
    order = torch.sort(masked, descending=True, stable=True).indices
    rank = torch.empty_like(order)
    rank[order] = torch.arange(1, scores.numel() + 1, device=scores.device)
    h = (1.0 / rank.double()) ** (1.0 / temperature)
    return _normalise(h, valid).to(scores.dtype)


def power_weights(scores: torch.Tensor, valid: torch.Tensor, temperature: float) -> torch.Tensor:
    """Score prioritisation ``P_i ∝ max(S_i, 0) ** (1 / β)``."""
    if temperature <= 0:
        raise ValueError(f"temperature must be > 0, got {temperature}")
    h = scores.double().clamp(min=0) ** (1.0 / temperature)
    return _normalise(h, valid).to(scores.dtype)


def staleness_weights(last_sampled: torch.Tensor, clock: int, valid: torch.Tensor) -> torch.Tensor:
    """``P_i ∝ clock − C_i``: levels unseen for longest first (uniform when all were just sampled)."""
    age = (clock - last_sampled).clamp(min=0).double()
    return _normalise(age, valid).float()


def replay_distribution(scores: torch.Tensor, last_sampled: torch.Tensor, clock: int, valid: torch.Tensor,
                        temperature: float, staleness_coef: float, prioritization: str = "rank") -> torch.Tensor:
    """PLR's ``P = (1 − ρ) · P_S + ρ · P_C`` over the buffer ``[K]`` (zero on invalid slots)."""
    if prioritization == "rank":
        p_score = rank_weights(scores, valid, temperature)
    elif prioritization == "power":
        p_score = power_weights(scores, valid, temperature)
    else:
        raise ValueError(f"prioritization must be 'rank' or 'power', got {prioritization!r}")
    p_stale = staleness_weights(last_sampled, clock, valid)
    return (1.0 - staleness_coef) * p_score.float() + staleness_coef * p_stale


def draw(probs: torch.Tensor, u: torch.Tensor) -> torch.Tensor:
    """Indices ``[n]`` drawn from ``probs`` ``[K]`` by inverse CDF at uniforms ``u`` ``[n]`` (no host sync)."""
    cdf = probs.double().cumsum(0)
    idx = torch.searchsorted(cdf, (u.double() * cdf[-1]).unsqueeze(-1), right=True).squeeze(-1)
    return idx.clamp(max=probs.numel() - 1)


def max_mc(max_return: torch.Tensor, mean_value: torch.Tensor) -> torch.Tensor:
    """MaxMC regret estimate: best return achieved on the level minus the mean value estimate."""
    return max_return - mean_value
