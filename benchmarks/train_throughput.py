"""End-to-end training throughput: env-steps/s of PPO iterations (collection + update) vs env count.

For each env count it trains a few iterations of the given config and reports the iteration rate and
the share of time spent in simulation (env steps alone, timed with the same actions budget),
policy (rest of collection) and update. JSON output.
"""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import torch

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(HERE))
from results_io import write_results  # noqa: E402


def measure(config: str, num_envs: int, iterations: int, device: str) -> dict:
    """Train ``iterations`` PPO iterations (after one warm-up) and time the parts."""
    import yaml
    from lightning import Trainer

    from ada.config import EnvConfig, PPOConfig
    from ada.module import PPOModule
    from env_throughput import time_env
    from models.actor_critic import PolicyConfig

    model_cfg = yaml.safe_load(Path(config).read_text())["model"]
    env = EnvConfig(**{**model_cfg["env"], "num_envs": num_envs})
    ppo = PPOConfig(**model_cfg["ppo"])
    module = PPOModule(env=env, ppo=ppo, policy=PolicyConfig(**model_cfg["policy"]), seed=0)
    trainer = Trainer(max_epochs=iterations + 1, accelerator="cuda" if device.startswith("cuda") else "cpu",
                      devices=1, logger=False, enable_checkpointing=False, enable_progress_bar=False,
                      enable_model_summary=False)
    times: list[tuple[float, float]] = []
    original = module.training_step

    def timed(batch, batch_idx):
        t0 = time.perf_counter()
        original(batch, batch_idx)
        times.append((t0, time.perf_counter()))

    module.training_step = timed
    trainer.fit(module)
    iteration_s = sum(b - a for a, b in times[1:]) / len(times[1:])
    frames = num_envs * ppo.rollout_len
    collect_share = float(trainer.callback_metrics.get("perf/collect_share", float("nan")))
    world = env.overrides or {}
    sim = time_env(env.world, num_envs, world.get("num_agents", 1), device, steps=ppo.rollout_len,
                   action_type=world.get("action_type", "continuous"))
    sim_s = frames / sim["env_steps_per_s"]
    return {"num_envs": num_envs, "device": device, "env_steps_per_s": frames / iteration_s,
            "iteration_s": iteration_s, "share_sim": sim_s / iteration_s,
            "share_policy": max(0.0, collect_share - sim_s / iteration_s), "share_update": 1.0 - collect_share}


def main(argv: list[str] | None = None) -> None:
    """Print the table and write JSON."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--config", default=str(ROOT / "experiments" / "configs" / "lidarnav_gru.yaml"))
    parser.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    parser.add_argument("--envs", type=int, nargs="+")
    parser.add_argument("--iterations", type=int, default=3)
    parser.add_argument("--out", default=str(HERE / "results" / "train_throughput.json"))
    args = parser.parse_args(argv)
    envs = args.envs or ([1024, 4096, 8192, 16384] if args.device.startswith("cuda") else [64, 256, 1024])
    rows = []
    print(f"{'envs':>6} {'env-steps/s':>12} {'iter s':>7} {'sim':>5} {'policy':>7} {'update':>7}")
    for n in envs:
        row = measure(args.config, n, args.iterations, args.device)
        rows.append(row)
        print(f"{n:>6} {row['env_steps_per_s']:>12,.0f} {row['iteration_s']:>7.2f} {row['share_sim']:>5.0%} "
              f"{row['share_policy']:>7.0%} {row['share_update']:>7.0%}", flush=True)
    write_results(args.out, rows, args.device, config=args.config)


if __name__ == "__main__":
    main()
