"""Evaluation leaves the training model alone; curricula reach the policy only through a rollout service."""
from __future__ import annotations

import pytest
import torch

from ada.config import EnvConfig
from ada.curriculum import WorldContext
from ada.evaluate import PolicyRollouts, level_gif, run_attempts
from ada.module import PPOModule
from ada.worlds import build_env, random_levels
from models.actor_critic import PolicyConfig


def small_module(core: str = "gru") -> PPOModule:
    env = EnvConfig(world="lidarnav", num_envs=8, overrides={"max_steps": 10})
    return PPOModule(env=env, policy=PolicyConfig(core=core, hidden=16, layers=1, heads=2, memory_len=4))


def snapshot(model: torch.nn.Module) -> dict:
    return {"params": {k: (v.detach().clone(), v.data_ptr(), v.device) for k, v in model.state_dict().items()},
            "modes": [m.training for m in model.modules()], "rng": torch.get_rng_state()}


def assert_unchanged(model: torch.nn.Module, before: dict) -> None:
    after = snapshot(model)
    assert after["modes"] == before["modes"], "training flags changed"
    assert torch.equal(after["rng"], before["rng"]), "the caller's torch RNG advanced"
    for key, (value, ptr, device) in before["params"].items():
        now, now_ptr, now_device = after["params"][key]
        assert now_device == device and now_ptr == ptr, f"{key} was moved or replaced"
        assert torch.equal(now, value), f"{key} changed"


@pytest.mark.parametrize("core", ["gru", "trxl"])
def test_run_attempts_and_level_gif_leave_the_models_device_mode_parameters_and_rng_alone(tmp_path, core):
    module = small_module(core)
    module.model.train()
    module.model.critic.eval()  # a mixed state must come back as it was, module by module
    levels = random_levels(module.env_cfg, 3, seed=5)
    before = snapshot(module.model)
    first = run_attempts(module, levels, attempts=2, seed=3)
    assert_unchanged(module.model, before)
    level_gif(module, levels[:1], tmp_path / "level.gif", deterministic=False, seed=4)
    assert_unchanged(module.model, before)
    assert (tmp_path / "level.gif").is_file()
    again = run_attempts(module, levels, attempts=2, seed=3)
    for key in first:
        assert (first[key] == again[key]).all(), f"{key} not reproducible from the seed"


@pytest.mark.gpu
@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")
def test_cpu_evaluation_of_a_cuda_model_runs_on_a_copy():
    module = small_module()
    module.model.to("cuda")
    levels = random_levels(module.env_cfg, 2, seed=5)
    cuda_rng = torch.cuda.get_rng_state()
    before = snapshot(module.model)
    run_attempts(module, levels, attempts=2, seed=3, device="cpu")
    level_gif(module, levels[:1], "/tmp/ada_test_level.gif")
    assert_unchanged(module.model, before)
    assert torch.equal(torch.cuda.get_rng_state(), cuda_rng)


def test_world_context_holds_a_rollout_service_not_the_module():
    module = small_module()
    env = build_env(module.env_cfg, "cpu", seed=0)
    for source in (module, PolicyRollouts(module.env_cfg, module.model, "cpu")):
        ctx = WorldContext(source, env, torch.device("cpu"))
        assert isinstance(ctx.rollouts, PolicyRollouts)
        held = list(vars(ctx).values()) + list(vars(ctx.rollouts).values())
        assert not any(value is module for value in held), "the curriculum context keeps the training module"
        levels = random_levels(module.env_cfg, 4, seed=2)
        rates = ctx.success_rates(levels, trials=2, seed=9)
        assert rates.shape == (4,) and torch.equal(rates, ctx.success_rates(levels, trials=2, seed=9))
