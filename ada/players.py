"""A trained checkpoint as a plain ``TensorDict -> TensorDict`` player, for viewers outside the training loop."""
from __future__ import annotations

import torch
from tensordict import TensorDictBase

from .policy import RolloutPolicy
from .worlds import MEMORY_KEY


class CheckpointPlayer:
    """Deterministic agent of a ``PPOModule`` for a raw (untransformed) env of batch ``[N]``.

    It keeps the robots' memory itself: a TensorDict without ``("agents", "reward")`` comes from a
    reset and starts a new episode (memory cleared); any other continues the episode.
    """

    def __init__(self, module, env) -> None:
        self.policy = RolloutPolicy(module.model.eval(), deterministic=True)
        n = env.batch_size[0]
        a = env.full_action_spec["agents"].shape[1]
        self.memory = torch.zeros(n, a, *module.model.carried_memory_shape(), device=env.device)

    def __call__(self, td: TensorDictBase) -> TensorDictBase:
        fresh = td.get(("agents", "reward"), None) is None
        n = td.batch_size[0]
        td.set("is_init", torch.full((n, 1), fresh, dtype=torch.bool, device=td.device))
        td.set(MEMORY_KEY, self.memory)
        td = self.policy(td)
        self.memory = td.get(("next", *MEMORY_KEY))
        return td
