"""Per-trial evaluation of an XLand RL² checkpoint: does a later trial of a ruleset beat the first?

Every episode is exactly ``--trials`` trials of one held-out ruleset (objects and agent re-placed at each
trial start, memory kept); the rulesets are the world's held-out draws (its reserved seed; the first 20 are
``ada eval``'s held-out set), ``--attempts`` episodes each. Printed per trial index: success rate, mean
return, and the paired difference to trial 1 with its standard error over rulesets (the rulesets are the
independent units). A random policy (memoryless, so the same in every trial) is measured on the same
rulesets as the floor. Writes JSON beside the table.

    PYTHONPATH=$PWD python benchmarks/xland_rl2_eval.py --ckpt runs/xland_rl2_gru/checkpoints/last.ckpt \
        --trials 4 --rulesets 100 --attempts 8 --seed 1
"""
from __future__ import annotations

import argparse
import dataclasses
import json
import sys
from pathlib import Path

import numpy as np
import torch


def paired(success: np.ndarray, k: int) -> tuple[float, float]:
    """Mean and standard error over rulesets of (trial k success - trial 1 success); ``success`` ``[L, A, K]``."""
    diff = (success[..., k].astype(float) - success[..., 0].astype(float)).mean(1)  # [L]
    return float(diff.mean()), float(diff.std(ddof=1) / np.sqrt(len(diff)))


def main(argv: list[str] | None = None) -> dict:
    """Evaluate a checkpoint by trial index on held-out rulesets; print the table, write JSON."""
    from ada.checkpoint import load_module
    from ada.evaluate import rollout_outcomes
    from ada.trial_eval import outcomes_by_trial, summarise_by_trial
    from ada.worlds import build_env, scripted_policy, with_memory, world_of
    from envs_warp.xland.world import HELD_OUT_SEED

    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--ckpt", required=True)
    parser.add_argument("--trials", type=int, default=4, help="trials per episode (K)")
    parser.add_argument("--rulesets", type=int, default=100, help="held-out rulesets (the world's reserved seed)")
    parser.add_argument("--attempts", type=int, default=8, help="episodes per ruleset")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--out", default=None, help="JSON path (default: <run>/eval/trials.json)")
    args = parser.parse_args(argv)
    torch.set_num_threads(1)

    module = load_module(args.ckpt)
    env_cfg = module.env_cfg
    world = world_of(env_cfg)
    wcfg = world.make_config(env_cfg.overrides)
    levels = world.random_levels(wcfg, args.rulesets, HELD_OUT_SEED, "cpu")  # [L]
    out = outcomes_by_trial(env_cfg, module.model, levels, trials=args.trials, attempts=args.attempts, seed=args.seed)
    rows = summarise_by_trial(out)
    for k, row in enumerate(rows):
        row["diff_vs_trial1"], row["diff_se"] = paired(out["success"], k) if k else (0.0, 0.0)

    plain = dataclasses.replace(env_cfg, trials=dataclasses.replace(env_cfg.trials, k_min=1, k_max=None, inputs=False))
    probe = with_memory(build_env(plain, "cpu", 0, num_envs=args.rulesets * args.attempts), ())
    rand = rollout_outcomes(plain, module.model, levels, args.attempts, policy=scripted_policy("random", probe, plain),
                            seed=args.seed)
    random_success = float(rand["success"].mean())

    print(f"{args.ckpt}: {args.rulesets} held-out rulesets x {args.attempts} episodes of {args.trials} trials "
          f"(observe_goal={wcfg.observe_goal}, observe_rules={wcfg.observe_rules})")
    print("trial  success  return   success - trial 1 (± s.e. over rulesets)")
    for row in rows:
        print(f"{row['trial']:>5}  {row['success_mean']:7.3f}  {row['score_mean']:6.3f}   "
              f"{row['diff_vs_trial1']:+.3f} ± {row['diff_se']:.3f}")
    print(f"random policy (any trial): success {random_success:.3f}")
    result = {"ckpt": str(args.ckpt), "trials": args.trials, "rulesets": args.rulesets, "attempts": args.attempts,
              "seed": args.seed, "by_trial": rows, "random_success": random_success,
              "random_return": float(rand["return"].mean())}
    path = Path(args.out) if args.out else Path(args.ckpt).resolve().parent.parent / "eval" / "trials.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(result, indent=2))
    print(f"wrote {path}")
    return result


if __name__ == "__main__":
    sys.exit(0 if main() else 1)
