"""What a curriculum costs on the env's hot path and between rollouts: env-steps/s of lidarnav through
``step_and_maybe_reset`` with no sampler, SFL, PLR and ACCEL feeding resets (buffers full, replay
probability 0.5, short episodes so many rows reset every step), plus the time of one ``update`` and
one ``before_rollout`` per sampler. Prints a table, writes JSON.

    python benchmarks/curriculum_overhead.py --envs 256 2048 --device cpu
"""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import torch

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
from results_io import write_results  # noqa: E402

from ada.config import EnvConfig  # noqa: E402
from ada.curriculum import WorldContext  # noqa: E402
from ada.module import PPOModule  # noqa: E402
from ada.worlds import build_env, random_levels  # noqa: E402
from curricula import (ACCELConfig, ACCELSampler, LevelStats, NoopFilterConfig, PLRConfig, PLRSampler,  # noqa: E402
                       SFLConfig, SFLSampler)
from envs_warp.core.env_base import LEVEL_ID  # noqa: E402


def sync(device: str) -> None:
    if device.startswith("cuda"):
        torch.cuda.synchronize()


def make_sampler(name: str, buffer: int):
    off = NoopFilterConfig()
    if name == "sfl":
        return SFLSampler(SFLConfig(buffer_size=buffer, buffer_ratio=0.5), off)
    if name == "plr":
        return PLRSampler(PLRConfig(buffer_size=buffer, replay_prob=0.5, min_fill=0.0), off)
    return ACCELSampler(PLRConfig(buffer_size=buffer, replay_prob=0.5, min_fill=0.0), ACCELConfig(mutants=256), off)


def time_config(method: str, num_envs: int, device: str, steps: int, buffer: int, max_steps: int) -> dict:
    """Env-steps/s with ``method`` feeding resets, and its between-rollout costs."""
    module = PPOModule(env=EnvConfig(world="lidarnav", num_envs=num_envs, overrides={"max_steps": max_steps}))
    env = build_env(module.env_cfg, device, seed=0)
    sampler = None
    if method != "none":
        sampler = make_sampler(method, buffer)
        sampler.bind(WorldContext(module, env, torch.device(device)))
        levels = random_levels(module.env_cfg, buffer, seed=99, device=device)
        sampler.buffer.insert(levels, torch.rand(buffer, device=device), clock=0,
                              source=-1000 - torch.arange(buffer, device=device))
        if method == "sfl":
            sampler.ready = True
        else:
            sampler.before_rollout(0)
            if method == "accel":  # a full mutant queue
                sampler.parents_replayed.fill_(1)
                sampler._make_mutants()
        env.level_source = sampler.on_reset
    spec = env.full_action_spec
    td = env.reset()
    tags = []
    for i in range(5 + steps):
        if i == 5:
            sync(device)
            t0 = time.perf_counter()
        td.update(spec.rand())
        tags.append(td.get(LEVEL_ID)[:, 0])
        _, td = env.step_and_maybe_reset(td)
    sync(device)
    sps = num_envs * steps / (time.perf_counter() - t0)
    row = {"method": method, "device": device, "num_envs": num_envs, "buffer": buffer, "env_steps_per_s": sps}
    if sampler is not None:
        tags = torch.stack(tags[-64:], 1)  # [N, 64] a rollout's worth of tags
        adv = torch.randn(tags.shape, device=device)
        zeros = torch.zeros(tags.shape, device=device)
        t0 = time.perf_counter()
        sampler.update(LevelStats.from_rollout(tags, adv, zeros, zeros.bool(), zeros.bool(), zeros))
        sync(device)
        row["update_ms"] = 1e3 * (time.perf_counter() - t0)
        if method != "sfl":  # SFL's before_rollout is a policy evaluation, timed by training runs instead
            t0 = time.perf_counter()
            sampler.before_rollout(1)
            sync(device)
            row["before_rollout_ms"] = 1e3 * (time.perf_counter() - t0)
    return row


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--envs", type=int, nargs="+", default=[256, 2048])
    parser.add_argument("--methods", nargs="+", default=["none", "sfl", "plr", "accel"])
    parser.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    parser.add_argument("--steps", type=int, default=100)
    parser.add_argument("--buffer", type=int, default=512)
    parser.add_argument("--max-steps", type=int, default=50, help="episode limit (short: many resets per step)")
    parser.add_argument("--out", default=str(HERE / "results" / "curriculum_overhead.json"))
    args = parser.parse_args()
    torch.set_num_threads(1)
    rows = []
    print(f"{'method':>7} {'envs':>6} {'env-steps/s':>12} {'vs none':>8} {'update ms':>10} {'before ms':>10}")
    for n in args.envs:
        base = None
        for method in args.methods:
            row = time_config(method, n, args.device, args.steps, args.buffer, args.max_steps)
            base = row["env_steps_per_s"] if method == "none" else base
            row["ratio_vs_none"] = row["env_steps_per_s"] / base if base else None
            rows.append(row)
            ratio = f"{row['ratio_vs_none']:.2f}" if row["ratio_vs_none"] else "-"
            print(f"{method:>7} {n:>6} {row['env_steps_per_s']:>12.0f} {ratio:>8} "
                  f"{row.get('update_ms', float('nan')):>10.1f} {row.get('before_rollout_ms', float('nan')):>10.1f}")
    write_results(args.out, rows, args.device, steps=args.steps, max_steps=args.max_steps)


if __name__ == "__main__":
    main()
