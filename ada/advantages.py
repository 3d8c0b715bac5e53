"""From a rollout to training sequences: fold robots into the batch, value the next states, run GAE.

Examples:
    >>> data = run.collect()  # rollout [N, T] (TorchRL Collector)
    >>> seq = rollout_sequences(data, model, num_agents=A, window_memory=run.window_memory, gamma=0.99, lam=0.95)
    >>> seq.batch_size, seq["obs"].shape, seq["advantage"].shape
    (torch.Size([N·A]), torch.Size([N·A, T, D]), torch.Size([N·A, T]))
"""
from __future__ import annotations

import torch
from tensordict import TensorDict, TensorDictBase

from models.actor_critic import ActorCritic

from .policy import ACTION_KEY, LOGP_KEY, OBS_KEY, VALUE_KEY
from .ppo import gae
from .worlds import MEMORY_KEY


def fold(x: torch.Tensor) -> torch.Tensor:
    """``[N, T, A, ...] -> [N·A, T, ...]``: each robot's steps become one sequence."""
    return x.transpose(1, 2).flatten(0, 1)


def rollout_sequences(data: TensorDictBase, model: ActorCritic, num_agents: int, window_memory: torch.Tensor | None,
                      gamma: float, lam: float) -> TensorDict:
    """Sequences ``[N·A]`` of ``T`` steps with advantages and value targets, from a rollout ``[N, T]``.

    Keys: ``obs``, ``action``, ``log_prob``, ``value``, ``is_init`` and ``advantage``/``target`` ``[N·A, T, ...]``,
    and ``memory [N·A, ...]``, the core's memory when the window began (``window_memory``, the live cache
    before the rollout, for cached-memory cores; else the memory stored with the first step).
    Returns and advantages run across trials; only episode ends (``done``) cut them, and terminations
    (not truncations) also drop the bootstrap value.
    """
    n, t = data.batch_size
    a = num_agents
    per_robot = lambda x: x.expand(n, t, a)  # root [N, T, 1] -> [N, T, A]
    seq = TensorDict({
        "obs": fold(data.get(OBS_KEY)),  # [N·A, T, D]
        "action": fold(data.get(ACTION_KEY)),  # [N·A, T, ...]
        "log_prob": fold(data.get(LOGP_KEY)),  # [N·A, T]
        "value": fold(data.get(VALUE_KEY)),  # [N·A, T]
        "memory": data.get(MEMORY_KEY)[:, 0].flatten(0, 1),  # [N·A, ...]
        "is_init": fold(per_robot(data.get("is_init"))),  # [N·A, T]
    }, batch_size=[n * a])
    reward = fold(data.get(("next", "agents", "reward"))[..., 0])  # [N·A, T]
    done = fold(per_robot(data.get(("next", "done"))))
    terminated = fold(per_robot(data.get(("next", "terminated"))))
    next_obs = fold(data.get(("next", *OBS_KEY)))  # [N·A, T, D]
    if model.cached_memory:
        seq["memory"] = window_memory.float()  # [N·A, L+1, M, D]
        with torch.no_grad():  # next states as extra queries of the rollout window (same memory)
            next_value = model.sequence_with_next_values(seq["obs"], next_obs, seq["memory"], seq["is_init"])
    else:
        with torch.no_grad():  # value of every next state, from the memory the policy carried into it
            next_mem = fold(data.get(("next", *MEMORY_KEY)))
            no_reset = torch.zeros(next_obs.shape[0] * t, dtype=torch.bool, device=next_obs.device)
            _, next_value, _ = model.step(next_obs.flatten(0, 1), next_mem.flatten(0, 1), no_reset)
    seq["advantage"], seq["target"] = gae(reward, seq["value"], next_value.view(-1, t), done, terminated, gamma, lam)
    return seq
