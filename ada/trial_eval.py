"""Evaluation by trial index: how a policy's score changes over the K trials of an episode on fixed levels.

Examples:
    >>> out = outcomes_by_trial(module.env_cfg, module.model, levels, trials=13, attempts=4, seed=1)
    >>> out["success"].shape, out["return"].shape   # [L, attempts, 13] per (level, attempt, trial)
    >>> summarise_by_trial(out)[0]                  # {"trial": 1, "success_mean": ..., "score_median": ...}
"""
from __future__ import annotations

import dataclasses

import numpy as np
import torch
from tensordict import TensorDict

from models.actor_critic import ActorCritic

from .config import EnvConfig
from .evaluate import evaluation_model, seeded_rng
from .policy import RolloutPolicy
from .trials import TRIAL, TRIAL_DONE
from .worlds import build_env, episode_limit, success_key, with_memory


@torch.no_grad()
def outcomes_by_trial(env_cfg: EnvConfig, model: ActorCritic, levels: TensorDict, trials: int, attempts: int,
                      seed: int = 0, deterministic: bool = False,
                      device: str | torch.device = "cpu") -> dict[str, np.ndarray]:
    """Success and return of every trial of one ``trials``-trial episode per (level, attempt): ``[L, attempts, K]``.

    The env runs exactly ``trials`` trials per episode (the policy inputs as in training); the model's
    device, mode and the caller's random streams are left as they were.
    """
    device = torch.device(device)
    cfg = dataclasses.replace(env_cfg, trials=dataclasses.replace(
        env_cfg.trials, k_min=trials, k_max=None, inputs=env_cfg.trials.with_inputs))
    n_levels = levels.batch_size[0]
    with seeded_rng(seed, device), evaluation_model(model, device) as net:
        base = build_env(cfg, device, seed=seed, num_envs=n_levels * attempts, random_levels=False)
        base.set_levels(levels.repeat_interleave(attempts, dim=0).to(device))
        env = with_memory(base, net.carried_memory_shape())
        policy = RolloutPolicy(net, deterministic=deterministic)
        n = base.num_envs
        success = torch.zeros(n, trials, dtype=torch.bool, device=device)
        ret = torch.zeros(n, trials, device=device)
        finished = torch.zeros(n, dtype=torch.bool, device=device)
        td = env.reset()
        for _ in range(episode_limit(cfg)):
            td = env.step(policy(td))
            nxt = td["next"]
            live = ~finished
            trial = td[TRIAL][:, 0].clamp(max=trials - 1)  # [n] the trial this step belongs to
            ret.scatter_add_(1, trial[:, None], (nxt["agents", "reward"][..., 0].mean(-1) * live)[:, None])
            ended = nxt[TRIAL_DONE][:, 0] & live
            reached = nxt[success_key(cfg)][..., 0].all(-1)  # [n]
            success.scatter_(1, trial[:, None], (success.gather(1, trial[:, None]) | (ended & reached)[:, None]))
            finished |= nxt["done"][:, 0]
            if bool(finished.all()):
                break
            td = env.step_mdp(td)
    shape = (n_levels, attempts, trials)
    return {"success": success.view(shape).cpu().numpy(), "return": ret.view(shape).cpu().numpy()}


def summarise_by_trial(outcome: dict[str, np.ndarray]) -> list[dict]:
    """One row per trial index (1-based): mean, median and 20th percentile of the return, success rate."""
    rows = []
    for k in range(outcome["success"].shape[-1]):
        score = outcome["return"][..., k].reshape(-1)
        rows.append({"trial": k + 1, "score_mean": float(score.mean()), "score_median": float(np.median(score)),
                     "score_p20": float(np.percentile(score, 20)),
                     "success_mean": float(outcome["success"][..., k].mean())})
    return rows
