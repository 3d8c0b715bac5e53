"""Claim (AdA, Adaptive Agent Team 2023; RL², Duan et al. 2016): trained with K trials per episode and memory
kept across them, an agent's score on held-out tasks rises with the trial index; attention memory does at least
as well as a GRU at late trials; a memory-less policy cannot improve.

Transformer-XL, GRU and MLP policies train with the same config, budget and seed on lidarnav with the goal
hidden on one of two spots (``LidarNavConfig.hidden_goal_sides()``: the robot starts in the middle of an open room
and senses its own pose, not the goal, which is 1.5 m to its left or right; a trial is long enough to reach one
spot, not both; K ~ U[1, 6] trials per episode; no trial-index input), then play 13-trial episodes on held-out
levels (a seeded random set no training row drew) with ``ada.trial_eval``.

    python experiments/adaptation.py --scale cpu --seeds 0 1     # the CPU table in experiments/README.md
    python experiments/adaptation.py --scale gpu --seeds 0 1 2   # the full version (see experiments/README.md)
    python experiments/adaptation.py --scale smoke --out /tmp/x  # seconds: proves the pipeline (tests)

``--config configs/adaptation/lidarnav_hidden_goal.yaml`` runs the earlier task (the goal anywhere in the room),
the probes in the README's history table. Runs land in ``<out>/seed<s>/<core>``; a killed script resumes each
run from its last checkpoint. Writes ``<out>/results.json``, ``<out>/adaptation.md`` and ``<out>/score_by_trial.png``.
"""
from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np

from ada.cli import train
from ada.trial_eval import outcomes_by_trial, summarise_by_trial
from ada.worlds import random_levels

CONFIG = Path(__file__).resolve().parent / "configs" / "adaptation" / "lidarnav_hidden_goal_sides.yaml"
CORES = ("trxl", "gru", "mlp")
HELD_OUT_SEED = 100_000  # held-out levels: random_levels(seed=HELD_OUT_SEED + seed); training rows use other streams

# Per scale: extra `ada train` arguments of every run, the evaluation size (levels, attempts per level, trials).
SCALES: dict[str, dict] = {
    "smoke": {"train": ["--model.env.num_envs", "8", "--model.ppo.rollout_len", "16",
                        "--model.ppo.total_env_steps", "256", "--model.ppo.epochs", "1",
                        "--model.ppo.minibatches", "2", "--model.policy.hidden", "16",
                        "--model.policy.memory_len", "16", "--model.env.overrides",
                        json.dumps({"max_steps": 4})],
              "levels": 4, "attempts": 1, "trials": 13},
    "cpu": {"train": [], "levels": 64, "attempts": 4, "trials": 13},
    "gpu": {"train": ["--model.env.num_envs", "2048", "--model.ppo.total_env_steps", "50000000",
                      "--model.ppo.rollout_len", "128", "--model.ppo.minibatches", "8",
                      "--model.policy.hidden", "256", "--model.policy.layers", "3", "--model.policy.heads", "4",
                      "--model.policy.memory_len", "96"],
            "levels": 1000, "attempts": 4, "trials": 13},
}


def world_overrides(extra: list[str], config: Path = CONFIG) -> list[str]:
    """``--model.env.overrides`` merged into the config's own (the last one given wins per field)."""
    import yaml

    merged = dict(yaml.safe_load(config.read_text())["model"]["env"]["overrides"])
    out, i = [], 0
    while i < len(extra):
        if extra[i] == "--model.env.overrides":
            merged.update(json.loads(extra[i + 1]))
            i += 2
        else:
            out.append(extra[i])
            i += 1
    return [*out, "--model.env.overrides", json.dumps(merged)]


def run_core(core: str, scale: str, seed: int, out: Path, extra: list[str], config: Path = CONFIG) -> dict:
    """Train one core (resuming if a run exists), evaluate it on held-out levels by trial index."""
    spec = SCALES[scale]
    run = out / f"seed{seed}" / core
    args = ["--config", str(config), "--trainer.default_root_dir", str(run), "--model.policy.core", core,
            "--model.seed", str(seed), *world_overrides([*spec["train"], *extra], config)]
    if scale == "smoke":
        args += ["--trainer.enable_progress_bar", "false", "--trainer.enable_model_summary", "false",
                 "--artifacts", "false"]
    module = train(args)
    levels = random_levels(module.env_cfg, spec["levels"], seed=HELD_OUT_SEED + seed)
    outcome = outcomes_by_trial(module.env_cfg, module.model, levels, trials=spec["trials"],
                                attempts=spec["attempts"], seed=HELD_OUT_SEED + seed)
    return {"rows": summarise_by_trial(outcome), "env_steps": int(module.env_steps)}


def combine(per_seed: list[dict]) -> list[dict]:
    """Per trial index: each statistic's mean over seeds and its spread (std over seeds; 0 with one seed)."""
    rows = []
    for k in range(len(per_seed[0]["rows"])):
        row = {"trial": k + 1}
        for stat in ("score_mean", "score_median", "score_p20", "success_mean"):
            values = np.array([s["rows"][k][stat] for s in per_seed])
            row[stat], row[f"{stat}_std"] = float(values.mean()), float(values.std())
        rows.append(row)
    return rows


def write_table(results: dict, path: Path) -> str:
    """Markdown: one line per trial index, success and mean / median / 20th-percentile trial return per core."""
    cores = list(results["cores"])
    head = "| trial | " + " | ".join(f"{c} success | {c} mean | {c} median | {c} p20" for c in cores) + " |"
    lines = [head, "|" + "---|" * (1 + 4 * len(cores))]
    for k in range(len(results["cores"][cores[0]]["rows"])):
        cells = []
        for c in cores:
            r = results["cores"][c]["rows"][k]
            spread = f" ± {r['success_mean_std']:.2f}" if len(results["seeds"]) > 1 else ""
            cells += [f"{r['success_mean']:.2f}{spread}", f"{r['score_mean']:.2f}", f"{r['score_median']:.2f}",
                      f"{r['score_p20']:.2f}"]
        lines.append(f"| {k + 1} | " + " | ".join(cells) + " |")
    text = "\n".join(lines) + "\n"
    path.write_text(text)
    return text


def plot(results: dict, path: Path) -> None:
    """``score_by_trial.png``: success rate and mean / median / 20th-percentile trial return by trial index."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, (left, right) = plt.subplots(1, 2, figsize=(10, 4))
    for core, entry in results["cores"].items():
        rows = entry["rows"]
        k = [r["trial"] for r in rows]
        success = np.array([r["success_mean"] for r in rows])
        spread = np.array([r["success_mean_std"] for r in rows])
        line, = left.plot(k, success, marker="o", label=core)
        if spread.any():
            left.fill_between(k, success - spread, success + spread, alpha=0.2, color=line.get_color())
        right.plot(k, [r["score_mean"] for r in rows], marker="o", color=line.get_color(), label=f"{core} mean")
        right.plot(k, [r["score_median"] for r in rows], ls="--", color=line.get_color(), label=f"{core} median")
        right.plot(k, [r["score_p20"] for r in rows], ls=":", color=line.get_color(), label=f"{core} p20")
    trained = results["trained_k_max"]
    for ax in (left, right):
        ax.axvline(trained + 0.5, color="grey", lw=0.8, ls=":")
        ax.set_xlabel("trial index (dotted: largest K trained)")
    left.set_ylabel("success rate (held-out levels)")
    right.set_ylabel("trial return")
    left.legend()
    right.legend(fontsize=7, ncol=2)
    fig.suptitle(f"hidden-goal lidarnav, {results['scale']} scale, seeds {results['seeds']}")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def main(argv: list[str] | None = None) -> dict:
    """Parse, train and evaluate every core for every seed, write results.json, adaptation.md, score_by_trial.png."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--scale", choices=sorted(SCALES), default="cpu")
    parser.add_argument("--cores", nargs="+", choices=CORES, default=list(CORES))
    parser.add_argument("--seeds", type=int, nargs="+", default=[0])
    parser.add_argument("--out", default="runs/adaptation")
    parser.add_argument("--config", type=Path, default=CONFIG, help="the training config (default: the two-spot task)")
    parser.add_argument("overrides", nargs="*", help="extra `ada train` arguments for every run (after --)")
    args = parser.parse_args(argv)
    out = Path(args.out)
    runs = {core: [run_core(core, args.scale, seed, out, args.overrides, args.config) for seed in args.seeds]
            for core in args.cores}
    import yaml

    trials_cfg = yaml.safe_load(args.config.read_text())["model"]["env"]["trials"]
    results = {"scale": args.scale, "config": args.config.name, "seeds": args.seeds, "held_out_seed": [HELD_OUT_SEED + s for s in args.seeds],
               "levels": SCALES[args.scale]["levels"], "attempts": SCALES[args.scale]["attempts"],
               "trained_k_max": trials_cfg["k_max"],
               "cores": {core: {"rows": combine(per_seed), "env_steps": per_seed[0]["env_steps"],
                                "per_seed": [s["rows"] for s in per_seed]} for core, per_seed in runs.items()}}
    out.mkdir(parents=True, exist_ok=True)
    (out / "results.json").write_text(json.dumps(results, indent=1))
    write_table(results, out / "adaptation.md")
    plot(results, out / "score_by_trial.png")
    return results


if __name__ == "__main__":
    main()
