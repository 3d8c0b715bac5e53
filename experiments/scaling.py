"""Claim (AdA 2023): once training works at every size (kickstarting), score grows with model size and with
memory length. Two sweeps on the same world, budget and seeds:

* model size: Transformer-XL students of growing width and depth (``models.actor_critic.MODEL_SIZES`` at the GPU
  scale), optionally every one kickstarted by the same teacher (``--teacher CKPT``);
* memory length: one size, growing ``policy.memory_len``, in episodes of ``--trials`` trials of a level (memory
  is kept across trials, so a longer memory can carry what the first trial found).

Score: success on random held-out levels. Writes ``results.json``, ``table.md`` and log-log plots of score
against parameters (``size.png``) and against memory length (``memory.png``).

    python experiments/scaling.py --scale cpu --seeds 0 1
    python experiments/scaling.py --scale gpu --seeds 0 1 2 --teacher runs/kickstarting/teacher_s0/checkpoints/last.ckpt
    python experiments/scaling.py --scale smoke --out /tmp/s           # seconds: proves the pipeline (tests)
"""
from __future__ import annotations

import argparse
import json
import statistics
from pathlib import Path

from ada.checkpoint import load_module
from ada.cli import train
from ada.evaluate import run_attempts
from ada.protocol import save_figure
from ada.worlds import random_levels
from models.actor_critic import MODEL_SIZES

CONFIG = Path(__file__).resolve().parent / "configs" / "kickstart" / "lidarnav_rooms.yaml"

# Per scale: the sizes (policy fields), memory lengths (with the size they use), budget, evaluation and extra
# `ada train` arguments of every run.
SCALES: dict[str, dict] = {
    "smoke": {"sizes": {"s": dict(hidden=16, layers=1, heads=2), "m": dict(hidden=32, layers=1, heads=2)},
              "memory": [4, 8], "memory_size": "s", "steps": 512, "levels": 4, "attempts": 1,
              "train": ["--model.env.num_envs", "16", "--model.ppo.rollout_len", "16", "--model.ppo.epochs", "1",
                        "--model.ppo.minibatches", "2", "--trainer.enable_progress_bar", "false",
                        "--trainer.enable_model_summary", "false", "--artifacts", "false"]},
    "cpu": {"sizes": {"25k": dict(hidden=32, layers=1, heads=2), "100k": MODEL_SIZES["100k"],
                      "400k": dict(hidden=96, layers=2, heads=4)},
            "memory": [4, 16, 64], "memory_size": "100k", "steps": 120_000, "levels": 200, "attempts": 4,
            "train": ["--artifacts", "false"]},
    "gpu": {"sizes": dict(MODEL_SIZES), "memory": [16, 64, 256], "memory_size": "10M", "steps": 50_000_000,
            "levels": 1000, "attempts": 10,
            "train": ["--model.env.num_envs", "2048", "--model.ppo.minibatches", "8", "--model.ppo.bf16_update", "true"]},
}


def policy_args(fields: dict) -> list[str]:
    """``--model.policy.*`` arguments of a Transformer-XL of these fields."""
    fields = {"core": "trxl", **fields}
    return [arg for k, v in fields.items() for arg in (f"--model.policy.{k}", str(v))]


def train_and_score(root: Path, seed: int, spec: dict, extra: list[str]) -> dict[str, float]:
    """Train (or resume) one run, then its held-out success, mean return and parameter count."""
    train(["--config", str(CONFIG), "--trainer.default_root_dir", str(root), "--model.seed", str(seed),
           "--model.ppo.total_env_steps", str(spec["steps"]), *spec["train"], *extra])
    module = load_module(root / "checkpoints" / "last.ckpt")
    outcome = run_attempts(module, random_levels(module.env_cfg, spec["levels"], seed=10_000 + seed),
                           spec["attempts"], seed=seed)
    return {"success": float(outcome["success"].mean()), "return": float(outcome["return"].mean()),
            "params": int(module.model.parameter_counts()["total"])}


def sweep(scale: str, seeds: list[int], out: Path, teacher: str | None, trials: int, extra: list[str]) -> dict:
    """Both sweeps over every seed: ``{"size": {name: [per seed]}, "memory": {length: [per seed]}}``."""
    spec = SCALES[scale]
    kick = ["--model.kickstart.teacher", teacher, "--model.kickstart.hold_steps", str(spec["steps"] // 4),
            "--model.kickstart.decay_steps", str(spec["steps"] // 2)] if teacher else []
    results: dict[str, dict] = {"size": {}, "memory": {}}
    for name, fields in spec["sizes"].items():
        results["size"][name] = [train_and_score(out / f"size_{name}_s{seed}", seed, spec,
                                                 [*policy_args(fields), *kick, *extra]) for seed in seeds]
    base = spec["sizes"][spec["memory_size"]]
    for length in spec["memory"]:
        trial_args = ["--model.env.trials.k_min", str(trials)] if trials > 1 else []
        results["memory"][str(length)] = [
            train_and_score(out / f"memory_{length}_s{seed}", seed, spec,
                            [*policy_args({**base, "memory_len": length}), *trial_args, *kick, *extra])
            for seed in seeds]
    return results


def summary(runs: list[dict]) -> tuple[float, float]:
    """Mean and standard deviation (0 for one seed) of held-out success."""
    xs = [r["success"] for r in runs]
    return statistics.mean(xs), statistics.stdev(xs) if len(xs) > 1 else 0.0


def table(results: dict) -> str:
    """Markdown tables of both sweeps (mean ± std over seeds)."""
    lines = ["| size | parameters | held-out success | seeds |", "| --- | --- | --- | --- |"]
    for name, runs in results["size"].items():
        mean, sd = summary(runs)
        lines.append(f"| {name} | {runs[0]['params']:,} | {mean:.3f} ± {sd:.3f} | {len(runs)} |")
    lines += ["", "| memory_len | held-out success | seeds |", "| --- | --- | --- |"]
    for length, runs in results["memory"].items():
        mean, sd = summary(runs)
        lines.append(f"| {length} | {mean:.3f} ± {sd:.3f} | {len(runs)} |")
    return "\n".join(lines)


def plot(points: list[tuple[float, float, float]], xlabel: str, path: Path) -> Path:
    """Log-log plot of (x, mean success, std) with error bars; success is floored at 1e-3 to fit a log axis."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(5, 4))
    xs = [p[0] for p in points]
    ys = [max(p[1], 1e-3) for p in points]
    ax.errorbar(xs, ys, yerr=[p[2] for p in points], marker="o", capsize=3)
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel(xlabel)
    ax.set_ylabel("held-out success (mean ± std over seeds)")
    save_figure(fig, path)
    plt.close(fig)
    return path


def main(argv: list[str] | None = None) -> dict:
    """Parse, run both sweeps, write ``results.json``, ``table.md``, ``size.png`` and ``memory.png`` under ``--out``."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--scale", choices=sorted(SCALES), default="cpu")
    parser.add_argument("--seeds", type=int, nargs="+", default=[0])
    parser.add_argument("--teacher", default=None, help="kickstart every run from this checkpoint")
    parser.add_argument("--trials", type=int, default=2, help="trials per episode in the memory sweep")
    parser.add_argument("--out", default="runs/scaling")
    parser.add_argument("overrides", nargs="*", help="extra `ada train` arguments for every run (after --)")
    args = parser.parse_args(argv)
    out = Path(args.out)
    results = sweep(args.scale, args.seeds, out, args.teacher, args.trials, args.overrides)
    out.mkdir(parents=True, exist_ok=True)
    (out / "results.json").write_text(json.dumps({"scale": args.scale, "seeds": args.seeds, "teacher": args.teacher,
                                                  "trials": args.trials, **results}, indent=1))
    (out / "table.md").write_text(table(results) + "\n")
    plot([(runs[0]["params"], *summary(runs)) for runs in results["size"].values()], "parameters", out / "size.png")
    plot([(int(k), *summary(runs)) for k, runs in results["memory"].items()], "memory_len (steps)",
         out / "memory.png")
    print(table(results))
    return results


if __name__ == "__main__":
    main()
