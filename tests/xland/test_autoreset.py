"""The one-launch kernels (``step_autoreset``; ``draw_and_reset`` behind every reset) do exactly what the step,
level-draw and reset kernels do one after another."""
from __future__ import annotations

from pathlib import Path

import pytest
import torch

from envs_warp.core.env_base import random_level_tag
from envs_warp.xland.config import XLandConfig
from envs_warp.xland import layout as layout_kernels
from envs_warp.xland.env import XLandEnv

SAMPLES = Path(__file__).resolve().parents[3] / "shared" / "data" / "xland_rulesets"
STATE = ("grid", "pos", "direction", "pocket", "step_count", "goal_code", "rule_code", "rule_count", "obs", "reward",
         "terminated", "truncated", "fired", "rng_counter", "level_id", "level_pending")


def separate_kernels(env: XLandEnv, action: torch.Tensor, fused_reset: bool = False) -> None:
    """Step kernel, then tags, then the level draw and ``reset_rows`` as two launches (or ``draw_and_reset``)."""
    env.action.copy_(action)
    env._launch_step()
    done = env.terminated | env.truncated
    if env.random_levels:
        fresh = done & ~env.level_pending
        env.level_id.copy_(torch.where(fresh, random_level_tag(env.rng_seed, env.rng_counter), env.level_id))
    if fused_reset:
        env._launch_reset(done)
    else:
        if env.random_levels:
            env._draw_levels(env.levels, done & ~env.level_pending, env.rng_seed, env.rng_counter,
                             views=env._level_views)
        env._rows.copy_(done)
        s = env._wp
        env.launcher.launch(
            layout_kernels.reset_rows, (),
            inputs=[env.reset_params, s["rows"], s["seed"], s["counter"], s["rng"], s["goal"], s["rules"],
                    s["num_rules"], s["init_tiles"], s["rule_hidden"]],
            outputs=[s["grid"], s["pos"], s["direction"], s["pocket"], s["step_count"], s["goal_code"],
                     s["rule_code"], s["rule_count"], s["obs"]])
    env.rng_counter.add_(done.int())
    env.level_pending.logical_and_(~done)


def configs():
    yield XLandConfig(layout="R4", height=13, width=13, benchmark="high", max_steps=12, hidden_rule_prob=0.3,
                      observe_goal=True, observe_rules=True)
    yield XLandConfig(layout="R1", height=9, width=9, benchmark="trivial", max_steps=9, obs_format="index")
    sample = sorted(SAMPLES.glob("small_*.npz"))
    if sample:
        yield XLandConfig(layout="R9", height=16, width=16, benchmark=str(sample[0]), max_steps=10, observe_rules=True)


@pytest.mark.parametrize("cfg", list(configs()), ids=lambda c: f"{c.layout}-{Path(c.benchmark).stem}")
@pytest.mark.parametrize("random_levels", [True, False])
def test_fused_step_autoreset_matches_the_separate_kernels(cfg, random_levels):
    n = 300
    fused, trl, ref = (XLandEnv(cfg, num_envs=n, seed=3, random_levels=random_levels) for _ in range(3))
    if not random_levels:
        from envs_warp.xland.world import WORLD

        levels = WORLD.random_levels(cfg, n, 9, "cpu")
        for env in (fused, trl, ref):
            env.set_levels(levels)
    for env in (fused, trl, ref):
        env.reset()
    if random_levels:  # some rows hold an assigned level for their next episode
        from envs_warp.xland.world import WORLD

        rows = torch.arange(0, n, 7)
        extra = WORLD.random_levels(cfg, len(rows), 4, "cpu")
        for env in (fused, trl, ref):
            env.set_levels(extra, rows=rows)
    gen = torch.Generator().manual_seed(0)
    resets = 0
    for t in range(40):
        action = torch.randint(0, 6, (n,), generator=gen)
        fused.step_autoreset(action)
        separate_kernels(ref, action)
        separate_kernels(trl, action, fused_reset=True)
        resets += int((ref.terminated | ref.truncated).sum())
        for env in (fused, trl):
            for name in STATE:
                assert torch.equal(getattr(env, name), getattr(ref, name)), f"step {t}: {name}"
            for key in ref.levels.keys():
                assert torch.equal(env.levels[key], ref.levels[key]), f"step {t}: level {key}"
    assert resets > n  # every row went through several resets


def test_row_chunks_on_threads_and_level_source_switch_match_one_launch(monkeypatch):
    """Recorded launches over two row chunks (two threads) equal one launch over every row, also after
    ``random_levels`` is switched off between steps (the recorded launch reads the level source anew)."""
    cfg = XLandConfig(layout="R4", height=13, width=13, benchmark="high", max_steps=8, observe_rules=True)
    n = 600  # two chunks of at least 256 rows
    envs = []
    for threads in ("1", "2"):
        monkeypatch.setenv("ADA_WARP_CPU_THREADS", threads)
        envs.append(XLandEnv(cfg, num_envs=n, seed=5))
    one, two = envs
    assert len(one.launcher.bounds) == 1 and len(two.launcher.bounds) == 2
    gen = torch.Generator().manual_seed(1)
    for env in envs:
        env.reset()
    for t in range(30):
        if t == 15:
            for env in envs:
                env.random_levels = False  # from now on a finished row restarts its own level
            kept = {key: value.clone() for key, value in one.levels.items()}
        action = torch.randint(0, 6, (n,), generator=gen)
        for env in envs:
            env.step_autoreset(action)
        for name in STATE:
            assert torch.equal(getattr(one, name), getattr(two, name)), f"step {t}: {name}"
    assert (one.rng_counter > 2).all()  # several resets per row, on both sides of the switch
    for key, value in kept.items():
        assert torch.equal(one.levels[key], value), f"level {key} changed after random_levels was switched off"


@pytest.mark.gpu
def test_cuda_step_autoreset_matches_cpu():
    """The recorded launches and the ``ResetArrays`` element work on CUDA and give the CPU's states."""
    cfg = XLandConfig(layout="R4", height=13, width=13, benchmark="small", max_steps=10, observe_rules=True)
    cpu, gpu = (XLandEnv(cfg, num_envs=300, device=device, seed=2) for device in ("cpu", "cuda"))
    for env in (cpu, gpu):
        env.reset()
    gen = torch.Generator().manual_seed(3)
    for t in range(30):
        action = torch.randint(0, 6, (300,), generator=gen)
        cpu.step_autoreset(action)
        gpu.step_autoreset(action.cuda())
        for name in STATE:
            ours, theirs = getattr(cpu, name), getattr(gpu, name).cpu()
            if name == "reward":  # the GPU may fuse 1 − 0.9·t/T into one multiply-add
                assert torch.allclose(ours, theirs, atol=1e-6), f"step {t}: {name}"
            else:
                assert torch.equal(ours, theirs), f"step {t}: {name}"
