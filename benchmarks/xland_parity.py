"""Step-by-step cross-check of the XLand world against XLand-MiniGrid (``xminigrid`` 0.9.3 on JAX CPU).

For each (layout, size, ruleset source) our env runs ``--segments`` segments of ``--steps`` random actions
on ``--envs`` rows. At the start of every segment each row's full state (grid, agent cell, direction,
pocket, step count, goal and rules) is exported; the peer (run in a subprocess with the interpreter named
by ``--peer-python`` or ``$ADA_XMINIGRID_PYTHON``, script ``peers/xminigrid_replay.py``) steps the same
states with the same actions. Every step of every row until its episode ends is compared: grid, agent
cell and direction, pocket, reward, terminated, truncated and the 5×5 view. Between segments finished
rows are reset by our env (new ruleset, layout and placement), so many episodes are covered.
``--lock-doors`` turns each door into a locked one with that probability and hands some rows a key of a
door's colour, so the door/key mechanics are exercised too (XLand layouts only have closed doors).

Rulesets: ``--source samples`` draws from the shared XLand-MiniGrid samples
(``../shared/data/xland_rulesets/<preset>_*.npz``, made by upstream's generator); ``--source ours`` uses
our on-device generator. Prints a table and writes JSON rows (one per configuration).
"""
from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
from results_io import write_results  # noqa: E402

SAMPLES = Path(os.environ.get("ADA_XLAND_RULESETS", HERE.parent.parent / "shared" / "data" / "xland_rulesets"))
DEFAULT_CONFIGS = ("R1-9x9", "R2-11x11", "R4-13x13", "R6-13x13", "R9-16x16")
PRESETS = ("trivial", "small", "medium", "high")
FIELDS = ("grid", "pos", "dir", "pocket", "reward", "terminated", "truncated", "obs")


def sample_file(preset: str) -> Path:
    """The shared sample file of a preset."""
    found = sorted(SAMPLES.glob(f"{preset}_*.npz"))
    if not found:
        raise FileNotFoundError(f"no {preset}_*.npz under {SAMPLES} (set ADA_XLAND_RULESETS)")
    return found[0]


def make_env(layout: str, preset: str, source: str, num_envs: int, seed: int):
    """Our env in the parity configuration (index observations: the view reads as upstream's)."""
    from envs_warp.xland.config import XLandConfig
    from envs_warp.xland.env import XLandEnv

    kind, size = layout.split("-")
    h, w = (int(v) for v in size.split("x"))
    bench = str(sample_file(preset)) if source == "samples" else preset
    cfg = XLandConfig(layout=kind, height=h, width=w, benchmark=bench, obs_format="index", observe_pocket=False)
    return XLandEnv(cfg, num_envs=num_envs, device="cpu", seed=seed)


def lock_doors(env, prob: float, gen: torch.Generator) -> None:
    """Lock each closed door with ``prob``; give every other row with an empty pocket the key of one of its doors."""
    from envs_warp.xland.constants import DOOR_CLOSED, DOOR_LOCKED, KEY

    tile = env.grid >> 4
    doors = tile == DOOR_CLOSED
    lock = doors & (torch.rand(doors.shape, generator=gen) < prob)
    env.grid[lock] = (DOOR_LOCKED << 4) | (env.grid[lock] & 15)
    for row in range(0, env.num_envs, 2):
        cells = (lock[row] | doors[row]).nonzero()
        if len(cells) and int(env.pocket[row]) == 0:
            y, x = cells[int(torch.randint(len(cells), (1,), generator=gen))].tolist()
            env.pocket[row] = (KEY << 4) | (int(env.grid[row, y, x]) & 15)


def export_state(env) -> dict[str, np.ndarray]:
    """Every row's state in xminigrid's layout."""
    return {"grid": env.unpacked_grid().numpy(), "pos": env.pos.numpy().copy(), "dir": env.direction.numpy().copy(),
            "pocket": np.stack([env.pocket.numpy() >> 4, env.pocket.numpy() & 15], -1).astype(np.uint8),
            "step_num": env.step_count.numpy().copy(), "goal": env.levels["goal"].numpy().copy(),
            "rules": env.levels["rules"].numpy().copy()}


def run_ours(env, segments: int, steps: int, lock: float, seed: int) -> tuple[dict, dict]:
    """Our rollout: start states of every segment ``[K·N]`` and per-step outputs ``[T, K·N]``, plus actions."""
    gen = torch.Generator().manual_seed(seed)
    v = env.cfg.view_size
    starts, outs, actions = [], [], []
    env.reset()
    for _ in range(segments):
        if lock > 0:
            lock_doors(env, lock, gen)
        starts.append(export_state(env))
        act = torch.randint(0, 6, (steps, env.num_envs), generator=gen)
        seg = {k: [] for k in (*FIELDS, "fired")}
        done_any = torch.zeros(env.num_envs, dtype=torch.bool)
        for t in range(steps):
            td = env.step(env.full_action_spec.zero().set(("agents", "action"), act[t].view(-1, 1)))["next"]
            seg["grid"].append(env.unpacked_grid().numpy().copy())
            seg["pos"].append(env.pos.numpy().copy())
            seg["dir"].append(env.direction.numpy().copy())
            seg["pocket"].append(np.stack([env.pocket.numpy() >> 4, env.pocket.numpy() & 15], -1))
            seg["reward"].append(td["agents", "reward"].view(-1).numpy().copy())
            seg["terminated"].append(td["terminated"].view(-1).numpy().copy())
            seg["truncated"].append(td["truncated"].view(-1).numpy().copy())
            seg["obs"].append(env.obs[:, :v * v * 2].numpy().reshape(-1, v, v, 2).copy())
            seg["fired"].append(env.fired.numpy().copy())
            done_any |= td["done"].view(-1)
        outs.append({k: np.stack(val) for k, val in seg.items()})
        actions.append(act.numpy())
        env.reset(env.full_done_spec.zero().set("_reset", done_any.view(-1, 1)))  # finished rows only
    start = {k: np.concatenate([s[k] for s in starts]) for k in starts[0]}
    out = {k: np.concatenate([o[k] for o in outs], axis=1) for k in outs[0]}
    start["actions"] = np.concatenate(actions, axis=1)
    start["max_steps"], start["view_size"] = np.asarray(env.cfg.max_steps), np.asarray(v)
    return start, out


def run_peer(python: str, start: dict) -> dict:
    """The peer's outputs for the same start states and actions."""
    with tempfile.TemporaryDirectory() as tmp:
        src, dst = Path(tmp) / "in.npz", Path(tmp) / "out.npz"
        np.savez(src, **start)
        subprocess.run([python, str(HERE / "peers" / "xminigrid_replay.py"), "--input", str(src), "--output", str(dst)],
                       check=True, env={**os.environ, "JAX_PLATFORMS": "cpu"})
        with np.load(dst) as data:
            return {k: data[k] for k in data.files}


def compare(ours: dict, peer: dict) -> dict:
    """Counts of compared row-steps and of disagreements per field, until each row's episode end."""
    steps, rows = ours["terminated"].shape
    ended = ours["terminated"] | ours["truncated"] | peer["terminated"] | peer["truncated"]
    alive = np.ones((steps, rows), dtype=bool)
    alive[1:] = ~np.logical_or.accumulate(ended, axis=0)[:-1]
    out = {"row_steps": int(alive.sum()), "episodes_ended": int((ended & alive).sum()),
           "successes": int((ours["terminated"] & alive).sum()),
           "rule_firings": int((peer["fired"] & alive).sum()), "our_rule_firings": int(((ours["fired"] > 0) & alive).sum())}
    first = None
    for field in FIELDS:
        a, b = ours[field], peer[field]
        if field == "reward":
            bad = np.abs(a - b) > 1e-6
        else:
            bad = (a.reshape(steps, rows, -1) != b.reshape(steps, rows, -1).astype(a.dtype)).any(-1)
        bad &= alive
        out[f"{field}_mismatch"] = int(bad.sum())
        if bad.any() and first is None:
            t, r = np.argwhere(bad)[0]
            first = {"field": field, "step": int(t), "row": int(r)}
    out["first_mismatch"] = first
    return out


def main() -> None:
    """Run every configuration, print the table, write JSON."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--peer-python", default=os.environ.get("ADA_XMINIGRID_PYTHON"))
    parser.add_argument("--layouts", nargs="+", default=list(DEFAULT_CONFIGS))
    parser.add_argument("--presets", nargs="+", default=list(PRESETS))
    parser.add_argument("--source", choices=("samples", "ours"), default="samples")
    parser.add_argument("--envs", type=int, default=64)
    parser.add_argument("--steps", type=int, default=100)
    parser.add_argument("--segments", type=int, default=4)
    parser.add_argument("--lock-doors", type=float, default=0.3)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", default=str(HERE / "results" / "xland_parity.json"))
    args = parser.parse_args()
    if not args.peer_python:
        sys.exit("name the peer's interpreter with --peer-python or ADA_XMINIGRID_PYTHON")
    rows = []
    print(f"{'config':<22}{'row-steps':>10}{'episodes':>9}{'success':>8}{'firings':>8}  mismatches")
    for layout in args.layouts:
        for preset in args.presets:
            t0 = time.perf_counter()
            env = make_env(layout, preset, args.source, args.envs, args.seed)
            start, ours = run_ours(env, args.segments, args.steps, args.lock_doors, args.seed)
            peer = run_peer(args.peer_python, start)
            row = {"layout": layout, "preset": preset, "source": args.source, **compare(ours, peer),
                   "seconds": round(time.perf_counter() - t0, 1)}
            rows.append(row)
            bad = {f: row[f"{f}_mismatch"] for f in FIELDS if row[f"{f}_mismatch"]}
            print(f"{layout + ' ' + preset:<22}{row['row_steps']:>10}{row['episodes_ended']:>9}{row['successes']:>8}"
                  f"{row['rule_firings']:>8}  {bad or 'none'}", flush=True)
    write_results(args.out, rows, "cpu", peer="xminigrid 0.9.3 (JAX CPU)", steps=args.steps, segments=args.segments,
                  envs=args.envs)


if __name__ == "__main__":
    main()
