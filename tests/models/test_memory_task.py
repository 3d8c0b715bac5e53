"""The memory task (cue at the first step, answer at the last): memory cores solve it with PPO, an MLP cannot."""
from __future__ import annotations

from pathlib import Path

import pytest
import torch
from torchrl.envs.utils import step_mdp

from ada.cli import train
from envs_warp.memory_cue import MemoryCueConfig, MemoryCueEnv
from ada.module import PPOModule
from ada.policy import RolloutPolicy
from ada.worlds import with_memory

ROOT = Path(__file__).resolve().parents[2]
CONFIG = str(ROOT / "experiments" / "configs" / "memory_cue_trxl.yaml")


def success_rate(module: PPOModule, episodes: int = 512, seed: int = 999) -> float:
    """Fraction of fresh episodes the greedy policy answers correctly."""
    cfg = MemoryCueConfig(**module.env_cfg.overrides)
    env = with_memory(MemoryCueEnv(cfg, num_envs=episodes, seed=seed), module.model.carried_memory_shape())
    policy = RolloutPolicy(module.model, deterministic=True)
    td = env.reset()
    for _ in range(cfg.length):
        td = env.step(policy(td))
        reached = td.get(("next", "agents", "reached_goal"))
        td = step_mdp(td)
    return reached.float().mean().item()


def train_core(tmp_path: Path, core: str, *extra: str) -> PPOModule:
    return train(["--config", CONFIG, "--trainer.default_root_dir", str(tmp_path / core), "--trainer.enable_progress_bar",
                  "false", "--trainer.enable_model_summary", "false", "--artifacts", "false", "--model.policy.core", core,
                  *extra])


def test_memory_cue_env_shows_the_cue_only_at_the_first_step_and_rewards_it_at_the_last():
    env = MemoryCueEnv(MemoryCueConfig(length=4), num_envs=64, seed=1)
    td = env.reset()
    cue = td.get(("agents", "observation"))[..., :2].argmax(-1)  # [N, A]
    assert 0.2 < cue.float().mean() < 0.8
    for step in range(4):
        td.set(("agents", "action"), cue if step == 3 else 1 - cue)
        out = env.step(td)
        nxt = out.get("next")
        assert bool(nxt.get("done").all()) == (step == 3)
        assert torch.equal(nxt.get(("agents", "reward"))[..., 0], torch.full_like(cue, float(step == 3), dtype=torch.float32))
        assert nxt.get(("agents", "observation"))[..., :2].abs().sum() == 0
        td = step_mdp(out)


@pytest.mark.parametrize("core", ["trxl", "gru"])
def test_memory_cores_solve_the_cue_task_with_ppo_on_cpu(tmp_path, core):
    module = train_core(tmp_path, core)
    assert success_rate(module) >= 0.9


def test_memoryless_mlp_stays_at_chance_on_the_cue_task(tmp_path):
    module = train_core(tmp_path, "mlp")
    assert success_rate(module) <= 0.6


@pytest.mark.slow
def test_transformer_xl_solves_a_longer_corridor_with_ungated_blocks(tmp_path):
    module = train_core(tmp_path, "trxl", "--model.env.overrides", "{length: 16}", "--model.policy.memory_len", "16",
                        "--model.policy.gating", "false", "--model.ppo.rollout_len", "32",
                        "--model.ppo.total_env_steps", "163840")
    assert success_rate(module) >= 0.9
