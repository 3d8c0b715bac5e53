"""Which observation a world computes for the policy: its flat vector, or its entity sets for an entity encoder.

A world offers an entity observation when its config has an ``observation`` field that accepts
``"entity"`` and an ``entity_sizes`` property (the ``EntityLayout`` fields of the packed vector);
physics2d does. The policy's ``encoder`` chooses the view, so the env computes and the collector stores
only what the policy reads: ``policy.encoder="entity"`` sets the world's ``observation`` override to
``"entity"``; ``"flat"`` removes it (the world's default view).
"""
from __future__ import annotations

import dataclasses

from envs_warp.core.world import WorldError
from models.actor_critic import PolicyConfig
from models.entity_encoder import EntityLayout

from .config import EnvConfig
from .worlds import describe, world_config, world_of


def observation_config(env_cfg: EnvConfig, policy_cfg: PolicyConfig) -> EnvConfig:
    """``env_cfg`` with the world's observation view set for ``policy_cfg.encoder`` (a copy when it changes)."""
    overrides = dict(env_cfg.overrides)
    if policy_cfg.encoder == "entity":
        world = world_of(env_cfg)
        fields = {f.name for f in dataclasses.fields(world.config)}
        if "observation" not in fields or not hasattr(world.config, "entity_sizes"):
            raise WorldError(f"policy.encoder 'entity': world {world.name!r} has no entity observation "
                             f"(its config needs an 'observation' field and 'entity_sizes'); use policy.encoder 'flat'")
        overrides["observation"] = "entity"
    else:
        overrides.pop("observation", None)
    if overrides == env_cfg.overrides:
        return env_cfg
    return dataclasses.replace(env_cfg, overrides=overrides)


def entity_layout(env_cfg: EnvConfig) -> EntityLayout:
    """The packed layout of ``("agents", "observation")`` of an entity-view config, trial inputs counted as globals."""
    sizes = dict(world_config(env_cfg).entity_sizes)
    layout = EntityLayout(**sizes)
    obs_dim = describe(env_cfg)[0]  # the world's vector plus any trial inputs appended after it
    return layout.with_globals(layout.globals + obs_dim - layout.size)


def model_inputs(env_cfg: EnvConfig, policy_cfg: PolicyConfig) -> tuple[int, EntityLayout | None]:
    """(observation size, entity layout or None) an ``ActorCritic`` for this config is built with."""
    obs_dim = describe(env_cfg)[0]
    return obs_dim, (entity_layout(env_cfg) if policy_cfg.encoder == "entity" else None)
