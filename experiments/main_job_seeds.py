"""The main job (``make run``) over several seeds: held-out success per map, mean and spread, wall time.

Each seed trains ``experiments/configs/lidarnav_gru.yaml`` with ``--model.seed S`` through the ``ada``
CLI, then evaluates the final checkpoint on the held-out maps (20 attempts per map, as ``make run``);
the random and turn-to-goal baselines are evaluated once on the same maps. Writes
``summary.md`` (the README's table), ``results.json`` and ``success_per_map.png`` under ``--out``.

    python experiments/main_job_seeds.py --seeds 0 1 2     # about 10 min per seed on 2 CPU cores
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
CONFIG = ROOT / "experiments" / "configs" / "lidarnav_gru.yaml"


def ada(*args: str) -> None:
    """Run one ``ada`` command in a fresh interpreter (as ``make run`` does), failing loudly."""
    env = {**os.environ, "OMP_NUM_THREADS": os.environ.get("OMP_NUM_THREADS", "1")}  # as `make run`
    subprocess.run([sys.executable, "-m", "ada.cli", *args], check=True, cwd=ROOT, env=env)


def per_map(results_json: Path) -> dict[str, float]:
    """``{map: success rate}`` from an ``ada eval`` results file (the ``ALL`` row dropped)."""
    return {r["level"]: r["success_rate"] for r in json.loads(results_json.read_text()) if r["level"] != "ALL"}


def main(argv: list[str] | None = None) -> dict:
    """Train and evaluate every seed, then write the table, JSON and plot."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--runs", default="runs/main_job", help="folder of the per-seed runs")
    parser.add_argument("--out", default="experiments/results/main_job", help="folder of the summary")
    parser.add_argument("--attempts", type=int, default=20)
    parser.add_argument("--summarise-only", action="store_true",
                        help="skip training: tabulate the seeds whose runs already hold eval/results.json")
    parser.add_argument("--extra", nargs=argparse.REMAINDER, default=[], help="further `ada train` overrides")
    args = parser.parse_args(argv)
    runs, out = ROOT / args.runs, ROOT / args.out
    out.mkdir(parents=True, exist_ok=True)
    agent: dict[int, dict[str, float]] = {}
    minutes: dict[int, float] = {}
    timing = out / "wall_minutes.json"  # survives a --summarise-only pass
    if timing.is_file():
        minutes.update({int(k): v for k, v in json.loads(timing.read_text()).items()})
    for seed in args.seeds:
        run = runs / f"seed{seed}"
        if args.summarise_only:
            if (run / "eval" / "results.json").is_file():
                agent[seed] = per_map(run / "eval" / "results.json")
            continue
        start = time.perf_counter()
        ada("train", "--config", str(CONFIG), "--trainer.default_root_dir", str(run), "--model.seed", str(seed),
            "--trainer.enable_progress_bar", "false", *args.extra)
        ada("eval", "--ckpt", str(run / "checkpoints" / "last.ckpt"), "--attempts", str(args.attempts), "--gifs", "1")
        minutes[seed] = (time.perf_counter() - start) / 60
        timing.write_text(json.dumps(minutes))
        agent[seed] = per_map(run / "eval" / "results.json")
        print(f"seed {seed}: {statistics.mean(agent[seed].values()):.2f} held-out success, {minutes[seed]:.1f} min",
              flush=True)
    first = runs / f"seed{min(agent)}"
    baselines = {}
    for policy in ("random", "turn_to_goal"):
        if args.summarise_only and (first / "eval" / f"results_{policy}.json").is_file():
            baselines[policy] = per_map(first / "eval" / f"results_{policy}.json")
            continue
        ada("eval", "--ckpt", str(first / "checkpoints" / "last.ckpt"), "--attempts", str(args.attempts),
            "--policy", policy, "--gifs", "0")
        baselines[policy] = per_map(first / "eval" / f"results_{policy}.json")
    maps = list(next(iter(agent.values())))
    table = summarise(maps, agent, baselines, minutes, args.attempts)
    (out / "summary.md").write_text(table + "\n")
    result = {"seeds": list(agent), "attempts": args.attempts, "agent": agent, "baselines": baselines,
              "wall_minutes": minutes, "config": str(CONFIG.relative_to(ROOT)), "extra": args.extra}
    (out / "results.json").write_text(json.dumps(result, indent=1))
    plot(maps, agent, baselines, out / "success_per_map.png")
    print(table)
    return result


def summarise(maps: list[str], agent: dict[int, dict[str, float]], baselines: dict[str, dict[str, float]],
              minutes: dict[int, float], attempts: int) -> str:
    """Markdown: per map, the agent's mean ± std over seeds, each seed, and the baselines."""
    seeds = list(agent)
    header = ["held-out map", "PPO + GRU mean ± std", *[f"seed {s}" for s in seeds], *baselines]
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    rows = {m: [agent[s][m] for s in seeds] for m in maps}
    rows["**all**"] = [statistics.mean(agent[s].values()) for s in seeds]
    for name, values in rows.items():
        base = [statistics.mean(b.values()) if name == "**all**" else b[name] for b in baselines.values()]
        spread = statistics.stdev(values) if len(values) > 1 else 0.0
        lines.append(f"| {name} | {statistics.mean(values):.2f} ± {spread:.2f} | "
                     + " | ".join(f"{v:.2f}" for v in values) + " | " + " | ".join(f"{b:.2f}" for b in base) + " |")
    lines.append("")
    lines.append(f"Success rate per map ({attempts} stochastic attempts per map and seed); seeds {seeds}; "
                 f"wall time per seed (train + eval): "
                 + ", ".join(f"{minutes[s]:.1f} min" if s in minutes else "not recorded" for s in seeds) + ".")
    return "\n".join(lines)


def plot(maps: list[str], agent: dict[int, dict[str, float]], baselines: dict[str, dict[str, float]],
         path: Path) -> None:
    """Bars: the agent's per-map mean with each seed as a dot, and the baselines."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import numpy as np

    x = np.arange(len(maps))
    fig, ax = plt.subplots(figsize=(8, 3.2), dpi=110)
    width = 0.8 / (1 + len(baselines))
    ax.bar(x, [statistics.mean(agent[s][m] for s in agent) for m in maps], width, label="PPO + GRU (mean)")
    for s in agent:
        ax.plot(x, [agent[s][m] for m in maps], "k.", ms=5)
    for i, (name, values) in enumerate(baselines.items(), start=1):
        ax.bar(x + i * width, [values[m] for m in maps], width, label=name)
    ax.set_xticks(x + width * len(baselines) / 2, maps, rotation=20)
    ax.set_ylabel("success rate")
    ax.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)


if __name__ == "__main__":
    main()
