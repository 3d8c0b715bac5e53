"""Physics2D ACCEL mutations: mutants differ from their parents, stay valid, keep green/blue and simulate."""
from __future__ import annotations

import pytest
import torch
from tensordict import TensorDict

from envs_warp.physics2d.env import Physics2DEnv, Physics2DEnvConfig
from envs_warp.physics2d.generator import generate_levels
from envs_warp.physics2d.levels import (ARENA_SIZE, NUM_WALLS, ROLE_BLUE, ROLE_GREEN, ROLE_NEUTRAL, ROLE_RED,
                                         level_schema)
from envs_warp.physics2d.mutations import mutate_levels


def mutants(levels: TensorDict, seed: int = 0, num_edits: int = 2) -> TensorDict:
    """Mutants of ``levels`` from a freshly seeded generator."""
    return mutate_levels(levels, torch.Generator().manual_seed(seed), num_edits=num_edits)


def changed(a: TensorDict, b: TensorDict, keys=None) -> torch.Tensor:
    """``[B]`` bool: the two batches differ in at least one of ``keys`` (default: every field) per level."""
    keys = list(a.keys()) if keys is None else keys
    return torch.stack([(a[k] != b[k]).flatten(1).any(1) for k in keys]).any(0)


def bodies(levels: TensorDict, name: str) -> torch.Tensor:
    """``[B, NB, ...]`` a body field in the unified index space (polygons, then circles)."""
    return torch.cat([levels[f"poly_{name}"], levels[f"circle_{name}"]], 1)


def world_anchors(levels: TensorDict, end: str) -> torch.Tensor:
    """``[B, J, 2]`` [m] each joint's anchor on body ``end`` ("a" or "b") in world coordinates."""
    idx = levels[f"joint_{end}"].long()  # [B, J]
    pos = bodies(levels, "position").gather(1, idx[..., None].expand(-1, -1, 2))  # [B, J, 2]
    rot = bodies(levels, "rotation").gather(1, idx)  # [B, J]
    local = levels[f"joint_anchor_{end}"]
    c, s = rot.cos(), rot.sin()
    return pos + torch.stack([c * local[..., 0] - s * local[..., 1], s * local[..., 0] + c * local[..., 1]], -1)


@pytest.mark.parametrize("size", ["s", "m", "l"])
def test_physics2d_mutations_change_each_level_and_stay_valid(size: str):
    parents = generate_levels(size, 32, seed=0)
    before = parents.clone()
    for edits in (1, 2, 4):
        child = mutants(parents, seed=edits, num_edits=edits)
        assert child.batch_size == parents.batch_size
        assert all(child[k].shape == parents[k].shape and child[k].dtype == parents[k].dtype for k in parents.keys())
        level_schema(size).validate(child)
        assert changed(child, parents).all()
    assert not changed(parents, before).any()  # the input is untouched


def test_physics2d_mutations_are_deterministic_given_the_generator_state():
    parents = generate_levels("s", 16, seed=0)
    a, b, c = mutants(parents, seed=3), mutants(parents, seed=3), mutants(parents, seed=4)
    assert not changed(a, b).any()
    assert changed(a, c).any()


def test_physics2d_mutations_keep_green_blue_roles_and_the_walls():
    parents = generate_levels("m", 64, seed=1)
    child = mutants(parents, seed=1, num_edits=6)
    role_before, role_after = bodies(parents, "role"), bodies(child, "role")
    for role in (ROLE_GREEN, ROLE_BLUE):
        assert torch.equal(role_after == role, role_before == role)
    assert ((role_after == role_before) | (role_after + role_before == ROLE_NEUTRAL + ROLE_RED)).all()
    assert (role_after != role_before).any()  # recolouring happens
    for name in parents.keys():
        if name.startswith("poly_"):
            assert torch.equal(child[name][:, :NUM_WALLS], parents[name][:, :NUM_WALLS]), name


def test_physics2d_mutations_use_every_operator_one_field_group_each():
    parents = generate_levels("m", 96, seed=2)
    child = mutants(parents, seed=2, num_edits=1)
    groups = {
        "pose": ["poly_position", "poly_rotation", "circle_position", "circle_rotation"],
        "role": ["poly_role", "circle_role"],
        "motor": ["joint_motor_speed"],
        "thruster": ["thruster_power"],
        "size": ["poly_vertices", "circle_radius"],
    }
    hits = {g: changed(child, parents, keys) for g, keys in groups.items()}
    for g, hit in hits.items():
        assert hit.float().mean() > 0.05, f"operator group {g!r} never used"
    assert (sum(h.int() for h in hits.values()) >= 1).all()
    untouched = [k for k in parents.keys() if not any(k in keys for keys in groups.values())
                 and "inverse" not in k and k != "thruster_position"]
    assert not changed(child, parents, untouched).any()  # topology, materials and joints stay put


def test_physics2d_mutations_move_jointed_groups_rigidly_and_stay_in_the_arena():
    parents = generate_levels("l", 64, seed=3)
    child = mutants(parents, seed=3, num_edits=4)
    on = parents["joint_active"]
    gap = lambda lv: (world_anchors(lv, "a") - world_anchors(lv, "b")).norm(dim=-1)[on]  # noqa: E731
    assert gap(child).max() <= gap(parents).max() + 1e-4  # joints still meet
    pos, active = bodies(child, "position"), bodies(child, "active")
    free = active.clone()
    free[:, :NUM_WALLS] = False
    assert ((pos >= 0) & (pos <= ARENA_SIZE))[free].all()
    moved = (bodies(child, "position") != bodies(parents, "position")).any(-1) & free
    assert moved.any()
    k = torch.arange(4)
    used = k < child["poly_n_vertices"][..., None]  # [B, P, 4]
    reach = torch.cat([(child["poly_vertices"].norm(dim=-1) * used).amax(-1), child["circle_radius"]], 1)
    margin = reach.clamp(max=ARENA_SIZE / 2 - 0.05)[..., None]  # [B, NB, 1] as the mutation keeps it
    inside = ((pos >= margin - 1e-4) & (pos <= ARENA_SIZE - margin + 1e-4)).all(-1)
    assert inside[moved].all()  # moved bodies keep their whole bounding circle in the arena


def test_physics2d_mutations_spread_over_bodies_and_offsets():
    parent = generate_levels("m", 1, seed=4)
    child = mutants(parent.expand(300).clone(), seed=4, num_edits=1)
    shift = bodies(child, "position") - bodies(parent, "position")  # [300, NB, 2]
    moved_bodies = (shift.norm(dim=-1) > 0).any(0)
    assert moved_bodies.sum() >= 2
    offsets = shift.norm(dim=-1).amax(1)
    assert len(torch.unique(offsets[offsets > 0])) > 20


@pytest.mark.parametrize("size", ["s", "m"])
def test_physics2d_mutants_simulate_without_nan(size: str):
    parents = generate_levels(size, 16, seed=0)
    child = mutants(parents, seed=5, num_edits=3)
    env = Physics2DEnv(Physics2DEnvConfig(size=size, bank_size=4), num_envs=16, random_levels=False)
    env.set_levels(child)
    td = env.reset()
    for _ in range(20):
        td = env.rand_step(td)["next"]
        assert torch.isfinite(td["agents", "observation"]).all()
        assert torch.isfinite(td["agents", "reward"]).all()
    assert torch.isfinite(env.sim.body_pos).all()
