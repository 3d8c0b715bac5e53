"""The physics2d entity policy: the env computes only the view the policy reads; training runs and resumes exactly."""
from __future__ import annotations

from pathlib import Path

import pytest
import torch

from ada.cli import train
from ada.config import EnvConfig
from ada.module import PPOModule
from ada.policy_inputs import entity_layout, observation_config
from envs_warp.core.world import WorldError
from envs_warp.physics2d.env import Physics2DEnv, Physics2DEnvConfig
from envs_warp.physics2d.levels import ROLE_GREEN, LevelBuilder
from models.actor_critic import PolicyConfig
from models.entity_encoder import EntityEncoder, relation_masks

ROOT = Path(__file__).resolve().parents[2]
CONFIG = str(ROOT / "experiments" / "configs" / "generalist" / "entity_tiny.yaml")


def run_args(run_dir: Path, *extra: str) -> list[str]:
    return ["--config", CONFIG, "--trainer.default_root_dir", str(run_dir), "--trainer.enable_progress_bar", "false",
            "--trainer.enable_model_summary", "false", "--artifacts", "false", *extra]


def test_the_policy_encoder_chooses_the_view_the_env_computes_and_stores():
    env_cfg = EnvConfig(world="physics2d", num_envs=4, overrides={"size": "m", "observation": "entity"})
    flat = PPOModule(env=env_cfg, policy=PolicyConfig(hidden=16))
    assert "observation" not in flat.env_cfg.overrides  # a flat policy gets the flat view only
    entity = PPOModule(env=EnvConfig(world="physics2d", num_envs=4, overrides={"size": "m"}),
                       policy=PolicyConfig(encoder="entity", hidden=16, encoder_layers=1))
    assert entity.env_cfg.overrides["observation"] == "entity" and isinstance(entity.model.encoder, EntityEncoder)
    env = Physics2DEnv(Physics2DEnvConfig(size="m", observation="entity"), num_envs=2)
    td = env.reset()
    assert set(td["agents"].keys()) == {"observation", "reached_goal", "crashed"}  # no second view stored
    assert td["agents", "observation"].shape[-1] == entity_layout(entity.env_cfg).size
    with pytest.raises(WorldError, match="no entity observation"):
        observation_config(EnvConfig(world="lidarnav"), PolicyConfig(encoder="entity"))


def test_entity_and_flat_views_hold_the_same_rows():
    cfgs = [Physics2DEnvConfig(size="m", observation=v) for v in ("flat", "entity")]
    envs = [Physics2DEnv(c, num_envs=4, seed=5) for c in cfgs]
    tds = [e.reset() for e in envs]
    for _ in range(5):
        action = envs[0].full_action_spec.rand()
        tds = [e.step(td.update(action.clone()))["next"] for e, td in zip(envs, tds)]
    flat = tds[0]["agents", "observation"][:, 0]
    layout = entity_layout(EnvConfig(world="physics2d", overrides={"size": "m", "observation": "entity"}))
    parts = layout.split(tds[1]["agents", "observation"][:, 0])
    shapes = parts["shapes"]  # [N, NB, 27]
    kept = torch.cat([shapes[:, :1], shapes[:, 4:]], 1).flatten(1)  # polygons 1..3 are not in the flat view
    assert torch.equal(flat[:, : kept.shape[1]], kept)
    nb, off = shapes.shape[1], kept.shape[1]
    for j in range(envs[0].cap.joints):
        block = flat[:, off + j * (22 + 2 * nb): off + (j + 1) * (22 + 2 * nb)]
        assert torch.equal(block[:, :22], parts["joints"][:, j])
        mask = parts["joint_mask"][:, j]
        assert torch.equal(block[:, 22:22 + nb].argmax(1)[mask], parts["joint_index"][:, j, 0][mask])
    assert torch.equal(parts["shape_mask"], envs[1].sim.body_active.bool())
    assert float(parts["globals"][0, 0]) == pytest.approx(float(flat[0, -1])) == pytest.approx(-0.981)


def test_contact_flags_mark_exactly_the_shape_pairs_that_touch():
    b = LevelBuilder("m")
    low = b.box(0.4, 0.4, (1.0, 0.2))  # resting on the floor (body 0)
    top = b.box(0.4, 0.4, (1.0, 0.6))  # stacked on it
    ball = b.circle(0.2, (4.0, 0.2), role=ROLE_GREEN)  # on the floor, far from both boxes
    env = Physics2DEnv(Physics2DEnvConfig(size="m", observation="entity", bank_size=32), num_envs=1,
                       random_levels=False)
    env.set_levels(b.build())
    td = env.reset()
    layout = entity_layout(EnvConfig(world="physics2d", overrides={"size": "m", "observation": "entity"}))
    assert not layout.split(td["agents", "observation"][:, 0])["contact"].any()  # a reset clears the manifolds
    for _ in range(5):
        td = env.step(td.update(env.full_action_spec.zero()))["next"]
    p = layout.split(td["agents", "observation"][:, 0])
    touching = relation_masks(p["shape_mask"], p["joint_index"], p["joint_mask"], p["contact"])[0, 3]  # [S, S]
    touching = touching & ~torch.eye(touching.shape[0], dtype=torch.bool)
    pairs = {(int(i), int(j)) for i, j in touching.nonzero() if i < j}
    assert pairs == {(0, low), (low, top), (0, ball)}  # not (top, floor), not the ball with either box
    assert torch.equal(p["contact"][0], env.sim.contact_active[0].any(-1))


def test_entity_policy_trains_and_a_resumed_run_matches_the_uninterrupted_one(tmp_path):
    full = train(run_args(tmp_path / "full", "--trainer.max_epochs", "3"))
    assert int(full.env_steps) == 3 * 16 * 16
    train(run_args(tmp_path / "split", "--trainer.max_epochs", "1"))
    resumed = train(run_args(tmp_path / "split", "--trainer.max_epochs", "3"))
    start = PPOModule(env=full.env_cfg, ppo=full.ppo_cfg, policy=full.policy_cfg, seed=0).model.state_dict()
    moved = [k for k, v in full.model.state_dict().items() if not torch.equal(v, start[k])]
    assert any(k.startswith("encoder.blocks") for k in moved), "the attention blocks were not trained"
    for key, value in resumed.model.state_dict().items():
        assert torch.equal(value, full.model.state_dict()[key]), f"{key} differs after resume"
