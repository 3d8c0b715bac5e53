"""Claim (Schmitt et al. 2018; AdA 2023): a large model trained from scratch learns slower than the same model
kickstarted by a small trained teacher, which can end above its teacher; a same-size teacher helps too.

Trains a small GRU teacher, then the large Transformer-XL student three ways on the same budget and seeds:
``scratch``, ``kickstarted`` (the small teacher) and ``same_size`` (kickstarted by the scratch student of the
same seed, a teacher of its own size). Every run is evaluated on the same random held-out levels; learning
curves (training success against env steps, mean over seeds) and a final table are written.

    python experiments/kickstarting.py --scale cpu --seeds 0 1 2     # the table in experiments/README.md
    python experiments/kickstarting.py --scale gpu --seeds 0 1 2     # 10M-parameter students (needs a GPU)
    python experiments/kickstarting.py --scale smoke --out /tmp/k    # seconds: proves the pipeline (tests)

Runs land in ``<out>/teacher_s<seed>`` and ``<out>/<arm>_s<seed>``; a killed script resumes each run.
"""
from __future__ import annotations

import argparse
import json
import statistics
from pathlib import Path

from ada.artifacts import read_metrics
from ada.checkpoint import load_module
from ada.cli import train
from ada.evaluate import run_attempts
from ada.protocol import save_figure
from ada.worlds import random_levels

CONFIG = Path(__file__).resolve().parent / "configs" / "kickstart" / "lidarnav_rooms.yaml"
ARMS = ("scratch", "kickstarted", "same_size")


def _policy(**fields) -> list[str]:
    return [arg for k, v in fields.items() for arg in (f"--model.policy.{k}", str(v))]


# Per scale: budgets (env steps), the teacher's and the student's policy, the distillation schedule (fractions of
# the student's budget), the evaluation size and extra `ada train` arguments of every run.
SCALES: dict[str, dict] = {
    "smoke": {"teacher_steps": 1024, "student_steps": 1024,
              "teacher": _policy(core="gru", hidden=16),
              "student": _policy(core="trxl", hidden=32, layers=1, heads=2, memory_len=8),
              "hold": 0.25, "decay": 0.5, "levels": 4, "attempts": 1,
              "train": ["--model.env.num_envs", "16", "--model.ppo.rollout_len", "16", "--model.ppo.epochs", "1",
                        "--model.ppo.minibatches", "2", "--trainer.enable_progress_bar", "false",
                        "--trainer.enable_model_summary", "false", "--artifacts", "false"]},
    "cpu": {"teacher_steps": 120_000, "student_steps": 120_000,
            "teacher": _policy(core="gru", hidden=32),
            "student": _policy(core="trxl", hidden=64, layers=2, heads=2, memory_len=16),
            "hold": 0.25, "decay": 0.5, "levels": 200, "attempts": 4, "train": ["--artifacts", "false"]},
    "gpu": {"teacher_steps": 5_000_000, "student_steps": 20_000_000,
            "teacher": _policy(core="gru", hidden=64),
            "student": _policy(core="trxl", hidden=256, layers=6, heads=8, memory_len=64),  # MODEL_SIZES["10M"]
            "hold": 0.25, "decay": 0.5, "levels": 1000, "attempts": 10,
            "train": ["--model.env.num_envs", "2048", "--model.ppo.minibatches", "8", "--model.ppo.bf16_update", "true"]},
}


def run(out: Path, name: str, seed: int, steps: int, policy: list[str], extra: list[str]) -> Path:
    """Train (or resume) one run; returns its last checkpoint."""
    root = out / name
    train(["--config", str(CONFIG), "--trainer.default_root_dir", str(root), "--model.seed", str(seed),
           "--model.ppo.total_env_steps", str(steps), *policy, *extra])
    return root / "checkpoints" / "last.ckpt"


def evaluate(ckpt: Path, levels: int, attempts: int, seed: int) -> dict[str, float]:
    """Success rate and mean return on ``levels`` random held-out levels (the same for every run of a seed)."""
    module = load_module(ckpt)
    outcome = run_attempts(module, random_levels(module.env_cfg, levels, seed=10_000 + seed), attempts, seed=seed)
    return {"success": float(outcome["success"].mean()), "return": float(outcome["return"].mean())}


def curve(run_dir: Path) -> list[tuple[float, float]]:
    """Training success against env steps from the run's metrics log."""
    return sorted(read_metrics(run_dir / "logs" / "version_0" / "metrics.csv").get("train/success", []))


def run_seed(seed: int, scale: str, out: Path, extra: list[str]) -> dict:
    """Teacher, then the three arms of one seed; evaluations and curves."""
    spec = SCALES[scale]
    common = [*spec["train"], *extra]
    steps = spec["student_steps"]
    kick = ["--model.kickstart.hold_steps", str(int(spec["hold"] * steps)),
            "--model.kickstart.decay_steps", str(int(spec["decay"] * steps))]
    teacher = run(out, f"teacher_s{seed}", seed, spec["teacher_steps"], spec["teacher"], common)
    ckpts = {"teacher": teacher}
    ckpts["scratch"] = run(out, f"scratch_s{seed}", seed, steps, spec["student"], common)
    ckpts["kickstarted"] = run(out, f"kickstarted_s{seed}", seed, steps, spec["student"],
                               [*common, "--model.kickstart.teacher", str(teacher), *kick])
    ckpts["same_size"] = run(out, f"same_size_s{seed}", seed, steps, spec["student"],
                             [*common, "--model.kickstart.teacher", str(ckpts["scratch"]), *kick])
    return {name: {**evaluate(path, spec["levels"], spec["attempts"], seed), "curve": curve(path.parent.parent)}
            for name, path in ckpts.items()}


def table(results: dict[int, dict]) -> str:
    """Markdown: mean ± std over seeds of held-out success and return per arm."""
    lines = ["| run | held-out success | held-out return | seeds |", "| --- | --- | --- | --- |"]
    for name in ("teacher", *ARMS):
        success = [results[s][name]["success"] for s in results]
        ret = [results[s][name]["return"] for s in results]
        sd = lambda xs: statistics.stdev(xs) if len(xs) > 1 else 0.0  # noqa: E731
        lines.append(f"| {name} | {statistics.mean(success):.3f} ± {sd(success):.3f} | "
                     f"{statistics.mean(ret):.2f} ± {sd(ret):.2f} | {len(success)} |")
    return "\n".join(lines)


def plot(results: dict[int, dict], path: Path) -> Path:
    """Learning curves (training success against env steps), mean over seeds, one line per run kind."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6, 4))
    for name in ARMS:
        curves = [results[s][name]["curve"] for s in results]
        n = min(len(c) for c in curves)
        if n == 0:
            continue
        xs = [curves[0][i][0] for i in range(n)]
        ax.plot(xs, [statistics.mean(c[i][1] for c in curves) for i in range(n)], label=name)
    ax.set_xlabel("env steps")
    ax.set_ylabel("training success (mean over seeds)")
    ax.legend()
    save_figure(fig, path)
    plt.close(fig)
    return path


def main(argv: list[str] | None = None) -> dict:
    """Parse, run every seed, write ``<out>/results.json``, ``table.md`` and ``curves.png``."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--scale", choices=sorted(SCALES), default="cpu")
    parser.add_argument("--seeds", type=int, nargs="+", default=[0])
    parser.add_argument("--out", default="runs/kickstarting")
    parser.add_argument("overrides", nargs="*", help="extra `ada train` arguments for every run (after --)")
    args = parser.parse_args(argv)
    out = Path(args.out)
    results = {seed: run_seed(seed, args.scale, out, args.overrides) for seed in args.seeds}
    out.mkdir(parents=True, exist_ok=True)
    (out / "results.json").write_text(json.dumps({"scale": args.scale, "seeds": args.seeds, "runs": results},
                                                 indent=1))
    (out / "table.md").write_text(table(results) + "\n")
    plot(results, out / "curves.png")
    print(table(results))
    return results


if __name__ == "__main__":
    main()
