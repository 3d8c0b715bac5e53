"""The ``ada`` command: ``ada train --config X.yaml [--field value ...]``, ``ada eval --ckpt ...``, ``ada compare``.

``train`` is a LightningCLI over :class:`PPOModule`: every field of the YAML can be overridden on the
command line (``--model.ppo.lr 1e-3``, ``--trainer.strategy ddp --trainer.devices 2``). The run folder
is ``trainer.default_root_dir``; if it holds ``checkpoints/last.ckpt`` the same command resumes from it.
"""
from __future__ import annotations

import argparse
import sys
import warnings
from pathlib import Path

import torch
from lightning.pytorch.callbacks import TQDMProgressBar
from lightning.pytorch.cli import LightningCLI
from lightning.pytorch.loggers import TensorBoardLogger

from .artifacts import RunArtifacts
from .checkpoint import AtomicCheckpointIO, RunCheckpoint, last_checkpoint
from models.actor_critic import PolicyConfig

from curricula import CurriculumConfig

from .config import EnvConfig, PPOConfig
from .module import PPOModule
from .run_logs import ResumableCSVLogger


class AdaCLI(LightningCLI):
    """LightningCLI with the run-folder conventions: loggers, checkpoints and resume."""

    def add_arguments_to_parser(self, parser) -> None:
        parser.add_argument("--checkpoint_every", type=int, default=10, help="iterations between checkpoints")
        parser.add_argument("--artifacts", type=bool, default=True, help="plots and agent GIF at the end")


def train(argv: list[str] | None = None) -> PPOModule:
    """Parse, build the trainer's loggers and callbacks in the run folder, fit (resuming if possible)."""
    # DDP re-launches every rank with the original ``sys.argv`` (``ada train ...``); the arguments
    # parsed here are those after ``train``, so LightningCLI's args-vs-argv warning does not apply.
    warnings.filterwarnings("ignore", message=".*LightningCLI's args parameter is intended.*")
    warnings.filterwarnings("ignore", message=".*litlogger.*|.*litmodels.*")
    cli = AdaCLI(
        PPOModule,
        run=False,
        args=argv,
        save_config_kwargs={"overwrite": True},
        trainer_defaults={
            "default_root_dir": "runs/default",
            "logger": False,
            "enable_checkpointing": True,
            "accelerator": "auto",
            "devices": 1,
            "num_sanity_val_steps": 0,
            "log_every_n_steps": 1,
        },
        seed_everything_default=False,
    )
    trainer, model = cli.trainer, cli.model
    root = Path(trainer.default_root_dir)
    ckpt = last_checkpoint(root)
    resume_epoch = None if ckpt is None else torch.load(ckpt, map_location="cpu", weights_only=False).get("epoch")
    warnings.filterwarnings("ignore", message=".*Previous log files in this directory will be deleted.*")
    trainer.loggers = [ResumableCSVLogger(root, name="logs", version=0, resume_epoch=resume_epoch),
                       TensorBoardLogger(root, name="tb", version=0)]
    trainer.callbacks = [c for c in trainer.callbacks if not isinstance(c, type(trainer.checkpoint_callback))]
    trainer.callbacks.append(RunCheckpoint(every=cli.config["checkpoint_every"]))
    if cli.config["artifacts"]:
        trainer.callbacks.append(RunArtifacts())
    if not any(isinstance(c, TQDMProgressBar) for c in trainer.callbacks):
        trainer.callbacks.append(TQDMProgressBar())
    trainer.strategy.checkpoint_io = AtomicCheckpointIO()
    if trainer.fit_loop.max_epochs in (None, -1, 1000):  # not set by the user: derive from the env-step budget
        trainer.fit_loop.max_epochs = model.num_iterations(trainer.world_size)
    if ckpt is not None and trainer.global_rank == 0:
        print(f"resuming from {ckpt}", file=sys.stderr)
    trainer.fit(model, ckpt_path=str(ckpt) if ckpt else None)
    return model


def evaluate_main(argv: list[str] | None = None) -> list[dict]:
    """``ada eval``: a checkpoint (or a scripted baseline) on held-out levels; writes tables and GIFs."""
    from .evaluate import level_gif, run_attempts, summarise, write_table
    from .worlds import build_env, held_out_levels, scripted_policy, with_memory

    parser = argparse.ArgumentParser(prog="ada eval", description=evaluate_main.__doc__)
    parser.add_argument("--ckpt", required=True, help="checkpoint to evaluate (its config defines the world)")
    parser.add_argument("--levels", default="held_out", help="'held_out' or a level file of the world")
    parser.add_argument("--attempts", type=int, default=20)
    parser.add_argument("--policy", default="agent", help="agent, random or turn_to_goal")
    parser.add_argument("--deterministic", action="store_true")
    parser.add_argument("--out", default=None, help="output folder (default: <run>/eval)")
    parser.add_argument("--gifs", type=int, default=-1, help="levels to draw as GIF (-1: all)")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    args = parser.parse_args(argv)
    module = load_module(args.ckpt)
    if args.levels == "held_out":
        levels, names = held_out_levels(module.env_cfg)
    else:
        from envs_warp.core.levels import LevelFileError  # noqa: F401  (raised with the field named)

        probe = build_env(module.env_cfg, "cpu", seed=0, num_envs=1)
        levels, names = probe.level_schema.load_with_names(args.levels)
    out = Path(args.out) if args.out else Path(args.ckpt).resolve().parent.parent / "eval"
    policy = None
    if args.policy != "agent":
        probe = with_memory(build_env(module.env_cfg, args.device, 0, num_envs=levels.batch_size[0] * args.attempts),
                            module.model.carried_memory_shape())
        policy = scripted_policy(args.policy, probe)
    outcome = run_attempts(module, levels, args.attempts, policy=policy, seed=args.seed,
                           deterministic=args.deterministic, device=args.device)
    rows = summarise(names, outcome)
    stem = "results" if args.policy == "agent" else f"results_{args.policy}"
    write_table(rows, out, stem)
    for row in rows:
        print(f"{row['level']:>14}  success {row['success_rate']:.2f}  return {row['mean_return']:7.2f}  "
              f"length {row['mean_length']:6.1f}")
    count = len(names) if args.gifs < 0 else min(args.gifs, len(names))
    for i in range(count):
        gif_policy = None if policy is None else scripted_policy(args.policy, build_env(module.env_cfg, "cpu", 0, 1))
        level_gif(module, levels[i : i + 1], out / "gifs" / f"{stem}_{names[i]}.gif", policy=gif_policy,
                  deterministic=args.deterministic)
    print(f"wrote {out}/{stem}.json, .csv and {count} GIFs")
    return rows


def _world_fields(env_cfg: EnvConfig) -> dict:
    """The world name and its resolved config fields (what two runs must share to be compared)."""
    import dataclasses

    from .worlds import world_config

    return {"world": env_cfg.world, **dataclasses.asdict(world_config(env_cfg))}


def compare_main(argv: list[str] | None = None) -> dict:
    """``ada compare``: several runs on the same random solvable levels (worst-α protocol) and held-out levels."""
    import csv
    import json

    from envs_warp.core.levels import LevelFileError

    from .evaluate import run_attempts
    from .protocol import ALPHAS, alpha_label, evaluate_protocol, plot_worst_alpha, solvable_eval_levels
    from .worlds import held_out_levels

    parser = argparse.ArgumentParser(prog="ada compare", description=compare_main.__doc__)
    parser.add_argument("--runs", nargs="+", required=True, help="run folders, each with checkpoints/last.ckpt")
    parser.add_argument("--labels", nargs="+", default=None, help="method names (default: the run folder names)")
    parser.add_argument("--levels", type=int, default=500, help="random solvable levels for the worst-alpha protocol")
    parser.add_argument("--attempts", type=int, default=10, help="attempts per level in each pass")
    parser.add_argument("--seed", type=int, default=7, help="seed of the sampled levels and the rollouts")
    parser.add_argument("--out", default=None, help="output folder (default: <parent of the first run>/compare)")
    parser.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    args = parser.parse_args(argv)
    runs = [Path(r) for r in args.runs]
    labels = args.labels or [r.resolve().name for r in runs]
    if len(labels) != len(runs):
        raise SystemExit(f"ada compare: {len(labels)} labels for {len(runs)} runs")
    if len(set(labels)) != len(labels):
        raise SystemExit(f"ada compare: labels must be distinct, got {labels} (pass --labels)")
    modules = [load_module(r / "checkpoints" / "last.ckpt") for r in runs]
    reference = _world_fields(modules[0].env_cfg)
    mismatches = []
    for run, module in zip(runs[1:], modules[1:]):
        fields = _world_fields(module.env_cfg)
        differ = sorted(k for k in reference.keys() | fields.keys() if reference.get(k) != fields.get(k))
        if differ:
            mismatches.append(f"{run} differs from {runs[0]} in {', '.join(differ)}")
    if mismatches:
        raise ValueError("ada compare: the runs must share one world config; " + "; ".join(mismatches))
    env_cfg = modules[0].env_cfg
    out = Path(args.out) if args.out else runs[0].resolve().parent / "compare"
    out.mkdir(parents=True, exist_ok=True)

    levels = solvable_eval_levels(env_cfg, args.levels, seed=args.seed, device="cpu")  # [L], the same for every run
    try:
        held, held_names = held_out_levels(env_cfg)
        held_note = None
    except (LevelFileError, ValueError) as err:
        held, held_names, held_note = None, [], f"no held-out levels for this world: {err}"
        print(f"note: {held_note}; skipping the held-out column", file=sys.stderr)

    results: dict = {"world": reference, "levels": args.levels, "attempts": args.attempts, "seed": args.seed,
                     "alphas": list(ALPHAS), "held_out_note": held_note, "methods": {}}
    for label, run, module in zip(labels, runs, modules):
        proto = evaluate_protocol(module, levels, args.attempts, seed=args.seed, device=args.device, alphas=ALPHAS)
        entry = {"run": str(run), "worst_alpha": {str(a): v for a, v in proto["worst_alpha"].items()},
                 "mean_success": proto["mean_success"], "robots_at_goal": proto["robots_at_goal"],
                 "pass_one": proto["pass_one"].tolist(),
                 "pass_two": proto["pass_two"].tolist(), "held_out": None}
        if held is not None:
            outcome = run_attempts(module, held, args.attempts, seed=args.seed, device=args.device)
            per_level = outcome["success"].mean(axis=1)  # [H]
            entry["held_out"] = {"mean": float(per_level.mean()),
                                 "robots_at_goal": float(outcome["robots_at_goal"].mean()),
                                 "per_level": dict(zip(held_names, per_level.tolist()))}
        results["methods"][label] = entry

    multi = modules[0].num_agents > 1  # success needs every robot; also show the fraction of robots at goal
    header = ["method", *[f"worst {alpha_label(a)}" for a in ALPHAS], "held-out"]
    header += ["robots at goal (random)", "robots at goal (held-out)"] if multi else []
    rows = []
    for label, entry in results["methods"].items():
        held_cell = "" if entry["held_out"] is None else f"{entry['held_out']['mean']:.3f}"
        row = [label, *[f"{entry['worst_alpha'][str(a)]:.3f}" for a in ALPHAS], held_cell]
        if multi:
            row += [f"{entry['robots_at_goal']:.3f}",
                    "" if entry["held_out"] is None else f"{entry['held_out']['robots_at_goal']:.3f}"]
        rows.append(row)
    table = "\n".join(["| " + " | ".join(header) + " |", "|" + "---|" * len(header),
                       *["| " + " | ".join(row) + " |" for row in rows]])
    caption = (f"Success rate: worst α of {args.levels} random solvable {env_cfg.world} levels (levels chosen on pass "
               f"one, success reported on an independent pass two; {args.attempts} attempts per level per pass, "
               f"seed {args.seed})" + ("" if held is None else f"; held-out: {len(held_names)} hand-designed levels, "
                                       f"{args.attempts} attempts each") + ".")
    (out / "compare.json").write_text(json.dumps(results, indent=1))
    with open(out / "compare.csv", "w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(header)
        for label, entry in results["methods"].items():  # full precision here; the markdown table rounds
            held_entry = entry["held_out"] or {}
            writer.writerow([label, *[entry["worst_alpha"][str(a)] for a in ALPHAS], held_entry.get("mean", ""),
                             *([entry["robots_at_goal"], held_entry.get("robots_at_goal", "")] if multi else [])])
    (out / "compare.md").write_text(table + "\n\n" + caption + ("" if held_note is None else f" ({held_note})") + "\n")
    curves = {label: {float(a): v for a, v in e["worst_alpha"].items()} for label, e in results["methods"].items()}
    plot_worst_alpha(curves, out / "worst_alpha.png", title=f"{env_cfg.world}: {args.levels} solvable levels")
    print(table)
    print(f"wrote {out}/compare.json, .csv, .md and worst_alpha.png")
    return results


def play_main(argv: list[str] | None = None) -> dict:
    """``ada play``: watch a physics2d checkpoint play a level in the pygame viewer."""
    from envs_warp.physics2d.play import run

    from .players import CheckpointPlayer
    from .worlds import world_config

    parser = argparse.ArgumentParser(prog="ada play", description=play_main.__doc__)
    parser.add_argument("--ckpt", required=True)
    parser.add_argument("--level", required=True, help="a Kinetix JSON level or one of our level files")
    parser.add_argument("--index", type=int, default=0)
    parser.add_argument("--frames", type=int, default=None, help="stop after this many frames")
    args = parser.parse_args(argv)
    module = load_module(args.ckpt)
    if module.env_cfg.world != "physics2d":
        raise SystemExit(f"ada play shows physics2d checkpoints; this one trained on {module.env_cfg.world!r}")
    wcfg = world_config(module.env_cfg)
    return run(args.level, wcfg.size, args.index, policy=lambda env: CheckpointPlayer(module, env),
               frames=args.frames, action_type=wcfg.action_type)


def load_module(ckpt: str | Path) -> PPOModule:
    """A ``PPOModule`` with the weights and config of a checkpoint (CPU)."""
    path = Path(ckpt)
    if not path.is_file():
        raise FileNotFoundError(f"no checkpoint at {path}")
    state = torch.load(path, map_location="cpu", weights_only=False)
    hp = state.get("hyper_parameters")
    if not hp or "env" not in hp:
        raise ValueError(f"{path}: not an ada PPOModule checkpoint (no hyper_parameters.env)")
    module = PPOModule(env=EnvConfig(**hp["env"]), ppo=PPOConfig(**hp["ppo"]), policy=PolicyConfig(**hp["policy"]),
                       seed=hp.get("seed", 0), curriculum=CurriculumConfig.from_dict(hp.get("curriculum", {})))
    module.load_state_dict(state["state_dict"])
    return module


def main(argv: list[str] | None = None) -> None:
    """Dispatch ``ada train`` / ``ada eval`` / ``ada compare`` / ``ada play``."""
    argv = list(sys.argv[1:] if argv is None else argv)
    if not argv or argv[0] in ("-h", "--help"):
        print("usage: ada {train,eval,compare,play} ...\n  ada train --config experiments/configs/lidarnav_gru.yaml\n"
              "  ada eval --ckpt runs/<run>/checkpoints/last.ckpt\n"
              "  ada compare --runs runs/<run A> runs/<run B> [--labels A B] [--levels 500] [--attempts 10]\n"
              "  ada play --ckpt runs/<physics2d run>/checkpoints/last.ckpt --level LEVEL.json")
        return
    command, rest = argv[0], argv[1:]
    if command == "train":
        train(rest)
    elif command == "eval":
        evaluate_main(rest)
    elif command == "compare":
        compare_main(rest)
    elif command == "play":
        print(play_main(rest))
    else:
        raise SystemExit(f"ada: unknown command {command!r} (train, eval, compare, play)")


if __name__ == "__main__":
    main()
