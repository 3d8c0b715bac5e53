"""CPU cost of a physics2d env step, in CPU-seconds per million env-steps (robust on a shared machine).

Wall-clock throughput swings by 2x when other jobs share the CPU; the process's CPU time (all threads)
per env-step moves much less. Runs ``Physics2DEnv`` on Kinetix's bundled levels of each size under
random multi-discrete actions (``step_and_maybe_reset``) and prints one JSON line per (size, envs) with
both CPU-s / 1M env-steps and wall env-steps/s.

    OMP_NUM_THREADS=1 python benchmarks/physics2d_step_cost.py --sizes s m l --envs 2048 --steps 40
"""
from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import torch

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))


def cost(size: str, num_envs: int, steps: int, folder: Path | None) -> dict:
    """CPU seconds and wall seconds of ``steps`` batched steps after 5 warm-up steps."""
    from envs_warp.physics2d.env import Physics2DEnv, Physics2DEnvConfig
    from envs_warp.physics2d.kinetix_format import load_kinetix_levels

    cfg = Physics2DEnvConfig(size=size, action_type="multi_discrete", bank_size=64)
    env = Physics2DEnv(cfg, num_envs=num_envs, random_levels=folder is None, seed=0)
    if folder is not None:
        paths = sorted((folder / size).glob("*.json"))
        levels = load_kinetix_levels(paths, size)
        env.set_levels(levels[torch.arange(num_envs) % len(paths)])
    td = env.reset()
    g = torch.Generator().manual_seed(0)
    actions = [env.full_action_spec.rand() for _ in range(8)]
    for k in range(5):
        td.update(actions[k % 8])
        _, td = env.step_and_maybe_reset(td)
    c0, w0 = time.process_time(), time.perf_counter()
    for k in range(steps):
        td.update(actions[k % 8])
        _, td = env.step_and_maybe_reset(td)
    cpu, wall = time.process_time() - c0, time.perf_counter() - w0
    del g
    return {"size": size, "num_envs": num_envs, "steps": steps, "cpu_s_per_M_env_steps": cpu / (num_envs * steps) * 1e6,
            "env_steps_per_s": num_envs * steps / wall}


def main() -> None:
    """Print one JSON line per (size, envs)."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--sizes", nargs="+", default=["s", "m", "l"])
    parser.add_argument("--envs", type=int, nargs="+", default=[2048])
    parser.add_argument("--steps", type=int, default=40)
    parser.add_argument("--levels-dir", default=None)
    args = parser.parse_args()
    torch.set_num_threads(1)
    from physics2d_throughput import levels_dir

    folder = levels_dir(args.levels_dir, None)
    for size in args.sizes:
        for n in args.envs:
            print(json.dumps(cost(size, n, args.steps, folder)), flush=True)


if __name__ == "__main__":
    main()
