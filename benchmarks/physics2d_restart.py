"""Time a physics2d trial restart: the base class's default (gathers ``current_levels()``) vs physics2d's own.

    OMP_NUM_THREADS=1 PYTHONPATH=. python benchmarks/physics2d_restart.py --num-envs 256 1024 --repeats 50

Prints the median milliseconds per ``restart(mask)`` with half the rows restarting (the two variants
interleaved) and writes JSON with ``--out``. Both variants do the same work otherwise (reload the level
into the simulator, clear the episode state).
"""
from __future__ import annotations

import argparse
import json
import time

import torch

from envs_warp.core.env_base import WarpEnv
from envs_warp.physics2d.env import Physics2DEnv, Physics2DEnvConfig


def time_restart(env: Physics2DEnv, restart_rows, mask: torch.Tensor) -> float:
    """Milliseconds of one ``restart_rows(mask)`` followed by the observation, as ``WarpEnv.restart`` runs it."""
    t0 = time.perf_counter()
    restart_rows(mask)
    env.rng_counter.add_(mask.int())
    env._observe(reset=True)
    if env.device.type == "cuda":
        torch.cuda.synchronize()
    return 1000 * (time.perf_counter() - t0)


def median(values: list[float]) -> float:
    """The middle value."""
    return sorted(values)[len(values) // 2]


def main(argv: list[str] | None = None) -> list[dict]:
    """Run both variants for every env count; print a table."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--num-envs", type=int, nargs="+", default=[256, 1024])
    parser.add_argument("--size", default="m")
    parser.add_argument("--bank-size", type=int, default=1024)
    parser.add_argument("--repeats", type=int, default=50)
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--out", default=None)
    args = parser.parse_args(argv)
    rows = []
    print(f"{'envs':>6} {'default [ms]':>13} {'physics2d [ms]':>15} {'speed-up':>9}")
    for n in args.num_envs:
        env = Physics2DEnv(Physics2DEnvConfig(size=args.size, bank_size=args.bank_size), num_envs=n,
                           device=args.device, seed=0)
        env.reset()
        mask = torch.arange(n, device=env.device) % 2 == 0
        default = lambda m: WarpEnv._restart_rows(env, m)  # noqa: E731
        variants = {"default": default, "physics2d": env._restart_rows}
        times = {name: [] for name in variants}
        for i in range(args.repeats + 3):  # interleaved, so load changes on a shared machine hit both alike
            for name, fn in variants.items():
                ms = time_restart(env, fn, mask)
                if i >= 3:  # warm-up
                    times[name].append(ms)
        before, after = median(times["default"]), median(times["physics2d"])
        rows.append({"num_envs": n, "size": args.size, "device": args.device, "default_ms": before,
                     "physics2d_ms": after, "speedup": before / after})
        print(f"{n:>6} {before:>13.3f} {after:>15.3f} {before / after:>8.1f}x")
    if args.out:
        with open(args.out, "w") as f:
            json.dump(rows, f, indent=1)
    return rows


if __name__ == "__main__":
    main()
