"""Claim: sampling levels for learnability (SFL) beats uniform sampling and regret-based replay (PLR, ACCEL)
on held-out levels. Trains every method with the same budget and seed per setting, then evaluates all of
them on the same held-out maps and the same random solvable levels (worst-α protocol) with ``ada compare``.

    python experiments/curriculum_comparison.py --scale cpu                       # the CPU table in experiments/README.md
    python experiments/curriculum_comparison.py --scale gpu --settings lidarnav_1robot
    python experiments/curriculum_comparison.py --scale smoke --out /tmp/x        # seconds: proves the pipeline (tests)

Runs land in ``<out>/<setting>/<method>``; a killed script resumes each run from its last checkpoint.
"""
from __future__ import annotations

import argparse
import json
from pathlib import Path

import yaml

from ada.cli import compare_main, train
from curricula import METHODS

CONFIGS = Path(__file__).resolve().parent / "configs" / "curricula"
SETTINGS = ("lidarnav_1robot", "lidarnav_4robot")

# Per scale: overrides of every run, and the evaluation size (random levels, attempts per level).
SCALES: dict[str, dict] = {
    "smoke": {"overrides": {"max_steps": 24},
              "train": ["--model.env.num_envs", "16",
                        "--model.ppo.rollout_len", "16", "--model.ppo.total_env_steps", "768",
                        "--model.ppo.epochs", "1", "--model.ppo.minibatches", "2", "--model.policy.hidden", "32",
                        "--model.curriculum.sfl.num_candidates", "16", "--model.curriculum.sfl.trials", "2",
                        "--model.curriculum.sfl.buffer_size", "4", "--model.curriculum.sfl.refresh_every", "2",
                        "--model.curriculum.plr.buffer_size", "16", "--model.curriculum.plr.min_fill", "0.1",
                        "--model.curriculum.accel.mutants", "4"],
              "levels": 8, "attempts": 2},
    "cpu": {"train": [], "levels": 300, "attempts": 10},
    "gpu": {"train": ["--model.env.num_envs", "4096", "--model.ppo.total_env_steps", "100000000",
                      "--model.ppo.minibatches", "8", "--model.policy.hidden", "256",
                      "--model.curriculum.sfl.num_candidates", "4096", "--model.curriculum.sfl.trials", "10",
                      "--model.curriculum.sfl.buffer_size", "512", "--model.curriculum.sfl.refresh_every", "20",
                      "--model.curriculum.plr.buffer_size", "4000", "--model.curriculum.accel.mutants", "512"],
            "levels": 2000, "attempts": 10},
}


def run_setting(setting: str, methods: list[str], scale: str, seed: int, out: Path, extra: list[str]) -> dict:
    """Train each method on one setting (same config, budget and seed), then compare them; returns the results."""
    spec = SCALES[scale]
    runs = []
    for method in methods:
        run = out / setting / method
        config = CONFIGS / f"{setting}.yaml"
        args = ["--config", str(config), "--trainer.default_root_dir", str(run),
                "--model.curriculum.method", method, "--model.seed", str(seed), *spec["train"], *extra]
        if "overrides" in spec:  # world overrides merge into the setting's own
            world = yaml.safe_load(config.read_text())["model"]["env"].get("overrides", {})
            args += ["--model.env.overrides", json.dumps({**world, **spec["overrides"]})]
        if scale == "smoke":
            args += ["--trainer.enable_progress_bar", "false", "--trainer.enable_model_summary", "false",
                     "--artifacts", "false"]
        train(args)
        runs.append(str(run))
    return compare_main(["--runs", *runs, "--labels", *methods, "--levels", str(spec["levels"]),
                         "--attempts", str(spec["attempts"]), "--seed", str(1000 + seed),
                         "--out", str(out / setting / "compare")])


def main(argv: list[str] | None = None) -> dict:
    """Parse, run every setting, write ``<out>/results.json``."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--scale", choices=sorted(SCALES), default="cpu")
    parser.add_argument("--settings", nargs="+", choices=SETTINGS, default=list(SETTINGS))
    parser.add_argument("--methods", nargs="+", choices=METHODS, default=list(METHODS))
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", default="runs/curricula")
    parser.add_argument("overrides", nargs="*", help="extra `ada train` arguments for every run (after --)")
    args = parser.parse_args(argv)
    out = Path(args.out)
    results = {s: run_setting(s, args.methods, args.scale, args.seed, out, args.overrides) for s in args.settings}
    out.mkdir(parents=True, exist_ok=True)
    (out / "results.json").write_text(json.dumps(results, indent=1, default=str))
    return results


if __name__ == "__main__":
    main()
