"""The actor-critic seen from TorchRL: a TensorDict-in/TensorDict-out rollout policy with memory."""
from __future__ import annotations

import torch
from tensordict import TensorDictBase

from models.actor_critic import ActorCritic

from .worlds import MEMORY_KEY

OBS_KEY = ("agents", "observation")
ACTION_KEY = ("agents", "action")
LOGP_KEY = ("agents", "log_prob")
VALUE_KEY = ("agents", "value")


class RolloutPolicy:
    """Reads observations, ``is_init`` and memory; writes action, log-prob, value and next memory.

    Robots are folded into the batch (``[N, A] -> [N·A]``) and share parameters; each robot keeps
    its own memory. ``deterministic`` takes the distribution's mode (mean for Gaussians).
    """

    def __init__(self, model: ActorCritic, deterministic: bool = False) -> None:
        self.model = model
        self.deterministic = deterministic

    @torch.no_grad()
    def __call__(self, td: TensorDictBase) -> TensorDictBase:
        obs = td.get(OBS_KEY)  # [N, A, D]
        n, a = obs.shape[:2]
        memory = td.get(MEMORY_KEY)  # [N, A, *M]
        is_init = td.get("is_init").expand(n, a)  # [N, A]
        dist, value, new_memory = self.model.step(obs.flatten(0, 1), memory.flatten(0, 1), is_init.flatten())
        if self.deterministic:
            action = dist.mode if hasattr(dist, "mode") else dist.mean
        else:
            action = dist.sample()
        log_prob = dist.log_prob(action)
        td.set(ACTION_KEY, action.reshape(n, a, *action.shape[1:]))
        td.set(LOGP_KEY, log_prob.reshape(n, a))
        td.set(VALUE_KEY, value.reshape(n, a))
        td.set(("next", *MEMORY_KEY), new_memory.reshape(n, a, *new_memory.shape[1:]))
        return td
