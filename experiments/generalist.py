"""Claim (Kinetix, Matthews et al. 2025): one entity policy trained on random physics levels with SFL solves
hand-designed levels zero-shot, better than with uniform sampling, and fine-tunes on a held-out level faster
than training from scratch.

Trains the physics2d entity policy on random M levels with SFL and with uniform sampling (same budget and
seed), evaluates both zero-shot on Kinetix's 74 held-out levels at their own sizes after every segment of
training, then fine-tunes the SFL agent on a few held-out levels beside the same budget from scratch.

    python experiments/generalist.py --scale cpu                  # the CPU figures in experiments/README.md
    python experiments/generalist.py --scale gpu                  # the GPU scale (see experiments/README.md)
    python experiments/generalist.py --scale smoke --out /tmp/x   # seconds: proves the pipeline (tests)

Runs land in ``<out>/<method>``, zero-shot tables in ``<out>/<method>/zero_shot/<env steps>``, fine-tuning
in ``<out>/finetune/<level>``; ``<out>/results.json`` and ``<out>/zero_shot.png`` hold the figures. A killed
script resumes every run from its last checkpoint.
"""
from __future__ import annotations

import argparse
import json
from pathlib import Path

import yaml

from ada.checkpoint import load_module
from ada.cli import train
from ada.finetune import FinetuneConfig, run_finetune
from ada.zero_shot import evaluate_zero_shot

CONFIG = Path(__file__).resolve().parent / "configs" / "generalist" / "physics2d_m_entity.yaml"
METHODS = ("sfl", "uniform")

# Per scale: extra `ada train` arguments, world overrides, PPO iterations per segment and segments, zero-shot
# attempts per level, GIFs per size at the end, fine-tuning levels and budget.
SCALES: dict[str, dict] = {
    "smoke": {"train": ["--model.env.num_envs", "8", "--model.ppo.rollout_len", "8", "--model.ppo.epochs", "1",
                        "--model.ppo.minibatches", "2", "--model.policy.hidden", "16",
                        "--model.policy.encoder_layers", "1", "--model.curriculum.sfl.num_candidates", "8",
                        "--model.curriculum.sfl.buffer_size", "4", "--model.curriculum.sfl.refresh_every", "2"],
              "overrides": {"max_steps": 8, "bank_size": 16}, "segment": 1, "segments": 2, "attempts": 1, "gifs": 0,
              "finetune_levels": ["m/h18_thrust_right_very_easy"], "finetune_steps": 64},
    "cpu": {"train": ["--model.curriculum.sfl.num_candidates", "128"], "overrides": {}, "segment": 8, "segments": 2,
            "attempts": 2, "gifs": 1, "finetune_levels": ["s/h0_weak_thrust", "m/h18_thrust_right_very_easy"],
            "finetune_steps": 20480},
    "gpu": {"train": ["--model.env.num_envs", "4096", "--model.ppo.rollout_len", "256", "--model.ppo.minibatches", "8",
                      "--model.policy.hidden", "256", "--model.policy.encoder_layers", "2",
                      "--model.policy.entity_heads", "8", "--model.curriculum.sfl.num_candidates", "8192",
                      "--model.curriculum.sfl.trials", "4", "--model.curriculum.sfl.buffer_size", "1024",
                      "--model.curriculum.sfl.refresh_every", "20"],
            "overrides": {}, "segment": 100, "segments": 10, "attempts": 10, "gifs": 2,
            "finetune_levels": ["s/h0_weak_thrust", "m/h18_thrust_right_very_easy", "m/h3_car_thrust",
                                "l/car_launch"], "finetune_steps": 10_000_000},
}


def train_args(method: str, scale: str, seed: int, run: Path, epochs: int, extra: list[str]) -> list[str]:
    """`ada train` arguments of one method's run up to ``epochs`` PPO iterations (a rerun resumes)."""
    spec = SCALES[scale]
    world = yaml.safe_load(CONFIG.read_text())["model"]["env"]["overrides"]
    args = ["--config", str(CONFIG), "--trainer.default_root_dir", str(run), "--model.curriculum.method", method,
            "--model.seed", str(seed), "--model.env.overrides", json.dumps({**world, **spec["overrides"]}),
            "--trainer.max_epochs", str(epochs), *spec["train"], *extra]
    if scale == "smoke":
        args += ["--trainer.enable_progress_bar", "false", "--trainer.enable_model_summary", "false",
                 "--artifacts", "false"]
    return args


def budget(scale: str) -> int:
    """Env steps of each method's whole run (the LR schedule spans them)."""
    spec, cfg = SCALES[scale], yaml.safe_load(CONFIG.read_text())["model"]
    num_envs, rollout = cfg["env"]["num_envs"], cfg["ppo"]["rollout_len"]
    for flag, value in zip(spec["train"][::2], spec["train"][1::2]):
        num_envs = int(value) if flag == "--model.env.num_envs" else num_envs
        rollout = int(value) if flag == "--model.ppo.rollout_len" else rollout
    return num_envs * rollout * spec["segment"] * spec["segments"]


def run_method(method: str, scale: str, seed: int, out: Path, extra: list[str]) -> list[dict]:
    """Train one method segment by segment; zero-shot on the held-out levels at the start and after each segment.

    Returns the curve ``[{"env_steps", "S", "M", "L", "ALL", "solved"}]``; a segment whose zero-shot table
    exists already is read back (a rerun neither trains nor evaluates it again).
    """
    spec = SCALES[scale]
    run = out / method
    per_segment = budget(scale) // spec["segments"]
    curve = []
    for segment in range(0, spec["segments"] + 1):
        steps = segment * per_segment
        table = run / "zero_shot" / str(steps) / "zero_shot.json"
        if not table.is_file():
            if segment:
                module = train(train_args(method, scale, seed, run, segment * spec["segment"],
                                          ["--model.ppo.total_env_steps", str(budget(scale)), *extra]))
                assert int(module.env_steps) == steps, f"{run}: {int(module.env_steps)} env steps, expected {steps}"
                agent = load_module(run / "checkpoints" / "last.ckpt")
            else:  # the initial weights of the run's seed: what training starts from
                agent = untrained(method, scale, seed, run, extra)
            last = segment == spec["segments"]
            evaluate_zero_shot(agent, attempts=spec["attempts"], seed=1000 + seed, out_dir=table.parent,
                               gifs=spec["gifs"] if last or not segment else 0)
        result = json.loads(table.read_text())
        curve.append({"env_steps": steps, **{size: row["mean_solve_rate"] for size, row in result["sizes"].items()},
                      "solved": result["sizes"]["ALL"]["solved"]})
    return curve


def untrained(method: str, scale: str, seed: int, run: Path, extra: list[str]):
    """The run's ``PPOModule`` before any training (the config parsed as ``ada train`` does, nothing fitted)."""
    from ada.cli import AdaCLI
    from ada.module import PPOModule

    args = train_args(method, scale, seed, run, 1, ["--model.ppo.total_env_steps", str(budget(scale)), *extra])
    cli = AdaCLI(PPOModule, run=False, args=args, parser_kwargs={"exit_on_error": False},
                 save_config_kwargs={"overwrite": True}, seed_everything_default=False,
                 trainer_defaults={"logger": False, "enable_checkpointing": False})
    return cli.model


def plot_zero_shot(curves: dict[str, list[dict]], path: Path) -> Path:
    """PNG of the mean zero-shot solve rate on the held-out levels against training env steps, per method."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=(5.5, 3.8))
    FigureCanvasAgg(fig)
    ax = fig.add_subplot()
    for method, curve in curves.items():
        ax.plot([c["env_steps"] for c in curve], [c["ALL"] for c in curve], marker="o", label=method)
    ax.set_xlabel("training env steps")
    ax.set_ylabel("zero-shot solve rate (74 levels)")
    ax.grid(True, alpha=0.3)
    ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    return path


def main(argv: list[str] | None = None) -> dict:
    """Parse, train both methods with zero-shot curves, fine-tune vs scratch; write ``<out>/results.json``."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--scale", choices=sorted(SCALES), default="cpu")
    parser.add_argument("--methods", nargs="+", choices=METHODS, default=list(METHODS))
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", default="runs/generalist")
    parser.add_argument("--no-finetune", action="store_true")
    parser.add_argument("overrides", nargs="*", help="extra `ada train` arguments for every run (after --)")
    args = parser.parse_args(argv)
    out = Path(args.out)
    spec = SCALES[args.scale]
    curves = {m: run_method(m, args.scale, args.seed, out, args.overrides) for m in args.methods}
    out.mkdir(parents=True, exist_ok=True)
    plot_zero_shot(curves, out / "zero_shot.png")
    results: dict = {"scale": args.scale, "seed": args.seed, "budget": budget(args.scale), "zero_shot": curves,
                     "finetune": {}}
    if not args.no_finetune:
        source = out / args.methods[0] / "checkpoints" / "last.ckpt"
        for level in spec["finetune_levels"]:
            cfg = FinetuneConfig(ckpt=str(source), levels=f"held_out:{level}", env_steps=spec["finetune_steps"],
                                 out=str(out / "finetune" / level.replace("/", "_")), attempts=spec["attempts"])
            results["finetune"][level] = run_finetune(cfg)
    (out / "results.json").write_text(json.dumps(results, indent=1))
    return results


if __name__ == "__main__":
    main()
