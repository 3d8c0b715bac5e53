"""The ``ada`` command: ``train``, ``eval``, ``compare``, ``play``, ``worlds``, ``export`` and ``convert``.

``ada train --config X.yaml [--field value ...]`` is a LightningCLI over :class:`PPOModule`: every YAML
value can be overridden on the command line (``--model.ppo.lr 1e-3``, ``--trainer.strategy ddp
--trainer.devices 2``); ``ada train --help`` lists the fields. The run folder is
``trainer.default_root_dir``; running the same command again resumes from its newest intact checkpoint.

A user error (an unknown field or world, a bad value, a missing or damaged checkpoint, a bad level file)
is printed as one line naming the file or field, with exit code 2; ``--debug`` shows the traceback.
Every checkpoint is loaded as data only (``torch.load(weights_only=True)``): a file that would need code to
load is refused by name. ``ada export`` writes an agent as safetensors (``ada eval/play --ckpt agent.safetensors``
read it); ``ada convert --trust`` rewrites a trusted checkpoint of an older ada in the safe format.
"""
from __future__ import annotations

import argparse
import dataclasses
import sys
import textwrap
import warnings
from pathlib import Path

import torch
from lightning.pytorch.callbacks.progress import ProgressBar
from lightning.pytorch.cli import LightningCLI
from lightning.pytorch.utilities.exceptions import MisconfigurationException

from envs_warp.core.levels import LevelFileError
from envs_warp.core.world import WorldError

from .checkpoint import CheckpointError, convert_checkpoint, export_agent, load_module
from .config import EnvConfig
from .module import CheckpointMismatchError, NonFiniteError, PPOModule
from .train_args import RUN_OPTIONS, ConfigError, UsageError, check_train_args, train_help
from .trainer import fit_run, quiet_lightning

# Errors of the user's making: printed as one line (exit code 2) unless --debug.
USER_ERRORS = (ConfigError, WorldError, LevelFileError, CheckpointError, CheckpointMismatchError)
COMMANDS = ("train", "eval", "compare", "play", "worlds", "export", "convert", "finetune")


class AdaCLI(LightningCLI):
    """LightningCLI with ada's run options (``checkpoint_every``, ``keep_last``, ``artifacts``)."""

    def add_arguments_to_parser(self, parser) -> None:
        for name, (tp, default, doc) in RUN_OPTIONS.items():
            parser.add_argument(f"--{name}", type=tp, default=default, help=doc)


def train_main(argv: list[str] | None = None) -> PPOModule:
    """``ada train``: check the config, build the trainer in the run folder, fit (resuming if possible)."""
    argv = list(sys.argv[2:] if argv is None else argv)
    if "-h" in argv or "--help" in argv:
        print(train_help())
        raise SystemExit(0)
    if "--help-all" in argv:
        argv = ["--help"]
    else:
        check_train_args(argv)
    quiet_lightning()
    # DDP re-launches every rank with the original ``sys.argv`` (``ada train ...``); the arguments parsed
    # here are those after ``train``, so LightningCLI's args-vs-argv warning does not apply.
    warnings.filterwarnings("ignore", message=".*LightningCLI's args parameter is intended.*")
    try:
        cli = AdaCLI(
            PPOModule,
            run=False,
            args=argv,
            parser_kwargs={"exit_on_error": False, "prog": "ada train"},
            save_config_kwargs={"overwrite": True},
            trainer_defaults={"default_root_dir": "runs/default", "logger": False, "enable_checkpointing": True,
                              "accelerator": "auto", "devices": 1, "num_sanity_val_steps": 0, "log_every_n_steps": 1},
            seed_everything_default=False,
        )
    except USER_ERRORS:
        raise
    except (argparse.ArgumentError, ValueError, MisconfigurationException) as err:  # no config from these values
        raise ConfigError(_jsonargparse_message(err)) from err
    trainer, model, config = cli.trainer, cli.model, cli.config
    user_callbacks = cli.config_init["trainer"].get("callbacks") or []
    if not isinstance(user_callbacks, (list, tuple)):
        user_callbacks = [user_callbacks]
    user_bar = any(isinstance(c, ProgressBar) for c in user_callbacks)
    return fit_run(trainer, model, checkpoint_every=config["checkpoint_every"], keep_last=config["keep_last"],
                   artifacts=config["artifacts"], progress=trainer.progress_bar_callback is not None and not user_bar,
                   user_callbacks=user_callbacks, max_iterations=config["trainer"].get("max_epochs"))


train = train_main  # ``ada.cli.train(argv)``: the command line from Python (``ada.train`` takes a module)


def _jsonargparse_message(err: BaseException) -> str:
    """One line out of jsonargparse's nested union report: the innermost key and what was wrong."""
    keys, problems = [], []
    for line in str(err).splitlines():
        text = line.strip().lstrip("- ").strip()
        if text.startswith("Parser key"):
            keys.append(text.split('"')[1] if '"' in text else text)
        elif text and not text.startswith(("Does not validate", "Subtypes:", "Errors:", "Given value",
                                           "Expected a <class 'NoneType'>", "Problem with given class_path")):
            problems.append(text)
    where = ".".join(keys)
    return " ".join(filter(None, [f"{where}:" if where else "", *problems])) or " ".join(str(err).split())


def evaluate_main(argv: list[str] | None = None) -> list[dict]:
    """``ada eval``: a checkpoint (or a scripted baseline) on held-out levels or a level file; tables and GIFs."""
    from .evaluate import level_gif, run_attempts, summarise, write_table
    from .worlds import build_env, has_pictures, held_out_levels, read_level_file, scripted_policy, with_memory

    parser = argparse.ArgumentParser(prog="ada eval", description=evaluate_main.__doc__)
    parser.add_argument("--ckpt", required=True, help="checkpoint or exported .safetensors agent to evaluate (its "
                                                      "config defines the world)")
    parser.add_argument("--levels", default="held_out", help="'held_out' or a level file of the world")
    parser.add_argument("--attempts", type=int, default=20)
    parser.add_argument("--policy", default="agent",
                        help="agent (the checkpoint) or a scripted baseline of its world: random, noop or one of "
                             "the world's own (ada worlds lists them)")
    parser.add_argument("--deterministic", action="store_true")
    parser.add_argument("--out", default=None, help="output folder (default: <run>/eval)")
    parser.add_argument("--gifs", type=int, default=-1, help="levels to draw as GIF (-1: all)")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    parser.add_argument("--trials", type=int, default=None,
                        help="evaluate by trial index: each attempt is one episode of this many trials of the level; "
                             "writes score_by_trial.csv/.json/.png (score: a trial's return) instead of results.*")
    args = parser.parse_args(argv)
    check_trials(args.trials)
    module = load_module(args.ckpt)
    choices = policy_choices(module.env_cfg)
    if args.policy not in choices:
        raise ConfigError(f"--policy {args.policy!r} is not a policy of world {module.env_cfg.world!r}; "
                          f"choices: {', '.join(choices)}")
    if args.levels == "held_out":
        levels, names = held_out_levels(module.env_cfg)
    else:
        levels, names = read_level_file(module.env_cfg, args.levels)
    ckpt = Path(args.ckpt).resolve()
    out = Path(args.out) if args.out else (ckpt.parent if ckpt.suffix == ".safetensors" else ckpt.parent.parent) / "eval"
    if args.trials is not None:
        return evaluate_by_trial(module, levels, args, out)
    policy = None
    if args.policy != "agent":
        probe = with_memory(build_env(module.env_cfg, args.device, 0, num_envs=levels.batch_size[0] * args.attempts),
                            module.model.carried_memory_shape())
        policy = scripted_policy(args.policy, probe, module.env_cfg)
    outcome = run_attempts(module, levels, args.attempts, policy=policy, seed=args.seed,
                           deterministic=args.deterministic, device=args.device)
    rows = summarise(names, outcome)
    stem = "results" if args.policy == "agent" else f"results_{args.policy}"
    write_table(rows, out, stem)
    for row in rows:
        print(f"{row['level']:>14}  success {row['success_rate']:.2f}  return {row['mean_return']:7.2f}  "
              f"length {row['mean_length']:6.1f}")
    count = len(names) if args.gifs < 0 else min(args.gifs, len(names))
    if count and not has_pictures(module.env_cfg):
        print(f"note: world {module.env_cfg.world!r} has no renderer; no GIFs", file=sys.stderr)
        count = 0
    for i in range(count):
        gif_policy = None
        if policy is not None:
            gif_policy = scripted_policy(args.policy, build_env(module.env_cfg, "cpu", 0, 1), module.env_cfg)
        level_gif(module, levels[i : i + 1], out / "gifs" / f"{stem}_{names[i]}.gif", policy=gif_policy,
                  deterministic=args.deterministic)
    print(f"wrote {out}/{stem}.json, .csv and {count} GIFs")
    return rows


def check_trials(trials: int | None) -> None:
    """``--trials`` must be a count of trials, at least 1 (``None``: not evaluating by trial index)."""
    if trials is not None and trials < 1:
        raise ConfigError(f"--trials must be an integer >= 1 (trials per episode), got {trials}")


def evaluate_by_trial(module, levels, args: argparse.Namespace, out: Path) -> list[dict]:
    """``ada eval --trials K``: score and success per trial index over the levels; table, CSV/JSON and a plot."""
    from .evaluate import write_table
    from .trial_eval import outcomes_by_trial, plot_score_by_trial, summarise_by_trial, trial_config, trial_table
    from .worlds import build_env, scripted_policy, with_memory

    policy = None
    if args.policy != "agent":
        cfg = trial_config(module.env_cfg, args.trials)
        probe = with_memory(build_env(cfg, args.device, 0, num_envs=levels.batch_size[0] * args.attempts),
                            module.model.carried_memory_shape())
        policy = scripted_policy(args.policy, probe, cfg)
    outcome = outcomes_by_trial(module.env_cfg, module.model, levels, args.trials, args.attempts, seed=args.seed,
                                deterministic=args.deterministic, device=args.device, policy=policy)
    rows = summarise_by_trial(outcome)
    stem = "score_by_trial" if args.policy == "agent" else f"score_by_trial_{args.policy}"
    write_table(rows, out, stem)
    plot_score_by_trial({args.policy: rows}, out / f"{stem}.png",
                        title=f"{module.env_cfg.world}: {levels.batch_size[0]} levels x {args.attempts} attempts")
    print(trial_table({args.policy: rows}))
    print(f"score: a trial's return; {levels.batch_size[0]} levels x {args.attempts} attempts, seed {args.seed}")
    print(f"wrote {out}/{stem}.json, .csv and .png")
    return rows


def policy_choices(env_cfg) -> list[str]:
    """``--policy`` values for a checkpoint's world: ``agent``, then the world's scripted baselines."""
    from .worlds import baseline_names, world_of

    extra = ["noop"] if hasattr(world_of(env_cfg).env, "noop_action") else []
    return ["agent", *baseline_names(env_cfg), *extra]


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
    parser.add_argument("--trials", type=int, default=None,
                        help="compare by trial index on the held-out levels instead (episodes of this many trials)")
    args = parser.parse_args(argv)
    check_trials(args.trials)
    runs = [Path(r) for r in args.runs]
    labels = args.labels or [r.resolve().name for r in runs]
    if len(labels) != len(runs):
        raise ConfigError(f"--labels: {len(labels)} labels for {len(runs)} runs")
    if len(set(labels)) != len(labels):
        raise ConfigError(f"--labels must be distinct, got {labels}")
    modules = [load_module(r / "checkpoints" / "last.ckpt") for r in runs]
    reference = _world_fields(modules[0].env_cfg)
    mismatches = []
    for run, module in zip(runs[1:], modules[1:]):
        fields = _world_fields(module.env_cfg)
        differ = sorted(k for k in reference.keys() | fields.keys() if reference.get(k) != fields.get(k))
        if differ:
            mismatches.append(f"{run} differs from {runs[0]} in {', '.join(differ)}")
    if mismatches:
        raise ConfigError("the runs must share one world config; " + "; ".join(mismatches))
    env_cfg = modules[0].env_cfg
    out = Path(args.out) if args.out else runs[0].resolve().parent / "compare"
    out.mkdir(parents=True, exist_ok=True)
    if args.trials is not None:
        return compare_by_trial(dict(zip(labels, modules)), runs, args, out)

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


def compare_by_trial(modules: dict, runs: list[Path], args: argparse.Namespace, out: Path) -> dict:
    """``ada compare --trials K``: every run on the same held-out levels by trial index; one table and one plot."""
    import csv
    import json

    from .trial_eval import COLUMNS, outcomes_by_trial, plot_score_by_trial, summarise_by_trial, trial_table
    from .worlds import held_out_levels

    env_cfg = next(iter(modules.values())).env_cfg
    held, names = held_out_levels(env_cfg)
    by_run = {label: summarise_by_trial(outcomes_by_trial(module.env_cfg, module.model, held, args.trials,
                                                          args.attempts, seed=args.seed, device=args.device))
              for label, module in modules.items()}
    results = {"world": env_cfg.world, "trials": args.trials, "attempts": args.attempts, "seed": args.seed,
               "levels": names, "score": "a trial's return", "runs": {l: str(r) for l, r in zip(modules, runs)},
               "methods": by_run}
    (out / "score_by_trial.json").write_text(json.dumps(results, indent=1))
    with open(out / "score_by_trial.csv", "w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["method", *COLUMNS])
        for label, rows in by_run.items():
            writer.writerows([label, *[row[c] for c in COLUMNS]] for row in rows)
    table = trial_table(by_run)
    caption = (f"Score (a trial's return) and success by trial index: {len(names)} held-out {env_cfg.world} levels, "
               f"{args.attempts} episodes of {args.trials} trials each, seed {args.seed}.")
    (out / "score_by_trial.md").write_text(table + "\n\n" + caption + "\n")
    plot_score_by_trial(by_run, out / "score_by_trial.png", title=f"{env_cfg.world}: {len(names)} held-out levels")
    print(table)
    print(f"wrote {out}/score_by_trial.json, .csv, .md and .png")
    return results


def play_main(argv: list[str] | None = None) -> dict:
    """``ada play``: watch a checkpoint play a level of its world, in a pygame window or written as a GIF."""
    import importlib.util

    from .playback import play

    parser = argparse.ArgumentParser(prog="ada play", description=play_main.__doc__)
    parser.add_argument("--ckpt", required=True, help="checkpoint or exported .safetensors agent (its config defines "
                                                      "the world)")
    parser.add_argument("--level", default=None, help="a level file of the world (default: its random levels)")
    parser.add_argument("--index", type=int, default=0, help="level index within a multi-level file")
    parser.add_argument("--gif", default=None, help="write the frames to this GIF instead of opening a window")
    parser.add_argument("--frames", type=int, default=None, help="stop after this many env steps")
    parser.add_argument("--episodes", type=int, default=None, help="stop after this many episodes (GIF: 1)")
    parser.add_argument("--fps", type=int, default=15)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    if args.gif is None and importlib.util.find_spec("pygame") is None:
        raise ConfigError("the play window needs pygame (pip install pygame); --gif OUT.gif writes a GIF without it")
    module = load_module(args.ckpt)
    stats = play(module, args.level, args.index, frames=args.frames, episodes=args.episodes, gif=args.gif,
                 fps=args.fps, seed=args.seed)
    returns = ", ".join(f"{r:+.2f}" for r in stats["returns"]) or "none finished"
    print(f"{stats['frames']} steps, {stats['episodes']} episodes, {stats['successes']} successes "
          f"(returns: {returns})" + (f"; wrote {stats['gif']}" if stats["gif"] else ""))
    return stats


def worlds_main(argv: list[str] | None = None) -> None:
    """``ada worlds [NAME]``: the registered worlds and their capabilities, or one world's config fields."""
    from envs_warp.core.world import all_worlds, get_world

    from .train_args import field_comments

    parser = argparse.ArgumentParser(prog="ada worlds", description=worlds_main.__doc__)
    parser.add_argument("name", nargs="?", default=None, help="a world: list its config fields (env.overrides)")
    args = parser.parse_args(argv)
    if args.name is None:
        for world in all_worlds():
            print(f"{world.name:<12} {world.description}")
            print(f"{'':<12} capabilities: {', '.join(world.capabilities()) or 'none'}"
                  + (f"; baselines: {', '.join(world.baselines)}" if world.baselines else ""))
        print("ada worlds NAME lists a world's config fields (set them with --model.env.overrides.FIELD VALUE)")
        return
    world = get_world(args.name)
    print(f"{world.name}: {world.description}")
    print(f"capabilities: {', '.join(world.capabilities()) or 'none'}")
    comments = field_comments(world.config)
    default = world.config()
    print(f"config fields ({world.config.__name__}; --model.env.overrides.FIELD VALUE):")
    for f in dataclasses.fields(world.config):
        value = getattr(default, f.name)
        if dataclasses.is_dataclass(value):  # a nested section: a dict of its fields in the overrides
            inner = ", ".join(f"{g.name}={getattr(value, g.name)}" for g in dataclasses.fields(value))
            text = f"  {f.name:<22} = {{{inner}}}"
            print(textwrap.fill(text, width=110, subsequent_indent=" " * 27))
            continue
        print(f"  {f.name:<22} = {value!s:<14} {comments.get(f.name, '')}".rstrip())


def export_main(argv: list[str] | None = None) -> Path:
    """``ada export``: a checkpoint's agent (weights + config as JSON metadata) as a .safetensors file, no pickle."""
    parser = argparse.ArgumentParser(prog="ada export", description=export_main.__doc__)
    parser.add_argument("--ckpt", required=True, help="checkpoint to export (loaded as data only)")
    parser.add_argument("--out", required=True, help="the agent file to write, e.g. agent.safetensors")
    args = parser.parse_args(argv)
    out = export_agent(args.ckpt, args.out)
    print(f"wrote {out} (ada eval --ckpt {out} / ada play --ckpt {out} load it)")
    return out


def convert_main(argv: list[str] | None = None) -> Path:
    """``ada convert``: rewrite a checkpoint of an older ada, which you trust, so that it loads as data only."""
    parser = argparse.ArgumentParser(prog="ada convert", description=convert_main.__doc__)
    parser.add_argument("--ckpt", required=True, help="the old checkpoint (unpickled: it can run code)")
    parser.add_argument("--out", required=True, help="where to write the converted checkpoint")
    parser.add_argument("--trust", action="store_true", help="required: you trust the file's author")
    args = parser.parse_args(argv)
    out = convert_checkpoint(args.ckpt, args.out, trust=args.trust)
    print(f"wrote {out}")
    return out


def finetune_main(argv: list[str] | None = None) -> dict:
    """``ada finetune``: see :mod:`ada.finetune`."""
    from .finetune import finetune_main as run

    return run(argv)


def main(argv: list[str] | None = None) -> None:
    """Dispatch ``ada train`` / ``eval`` / ``compare`` / ``play`` / ``worlds`` / ``export`` / ``convert``; user errors as one line, exit code 2."""
    argv = list(sys.argv[1:] if argv is None else argv)
    debug = "--debug" in argv
    argv = [a for a in argv if a != "--debug"]
    if not argv or argv[0] in ("-h", "--help"):
        print("usage: ada {train,eval,compare,play,worlds,export,convert,finetune} ... [--debug]   (ada COMMAND --help for its options)\n"
              "  ada train --config experiments/configs/lidarnav_gru.yaml [--model.ppo.lr 1e-3 ...]\n"
              "  ada eval --ckpt runs/<run>/checkpoints/last.ckpt [--policy random] [--levels FILE]\n"
              "  ada compare --runs runs/<run A> runs/<run B> [--labels A B] [--levels 500] [--attempts 10]\n"
              "  ada play --ckpt runs/<run>/checkpoints/last.ckpt [--level FILE] [--gif OUT.gif]\n"
              "  ada worlds [NAME]\n"
              "  ada export --ckpt runs/<run>/checkpoints/last.ckpt --out agent.safetensors\n"
              "  ada convert --trust --ckpt OLD.ckpt --out NEW.ckpt   (a trusted checkpoint of an older ada)\n"
              "  ada finetune --ckpt CKPT --levels held_out:m/arm_hard --env-steps 100000   (vs. the same from scratch)",
              file=sys.stdout if argv else sys.stderr)
        if not argv:
            raise SystemExit(2)
        return
    command, rest = argv[0], argv[1:]
    run = {"train": train_main, "eval": evaluate_main, "compare": compare_main, "play": play_main,
           "worlds": worlds_main, "export": export_main, "convert": convert_main, "finetune": finetune_main}.get(command)
    if run is None:
        print(f"ada: unknown command {command!r} (choose from {', '.join(COMMANDS)})", file=sys.stderr)
        raise SystemExit(2)
    try:
        run(rest)
    except UsageError as err:
        print(err, file=sys.stderr)
        raise SystemExit(2) from None
    except USER_ERRORS as err:
        if debug:
            raise
        print(f"ada {command}: error: {' '.join(str(err).split())}", file=sys.stderr)
        raise SystemExit(2) from None
    except NonFiniteError as err:
        if debug:
            raise
        print(f"ada {command}: training stopped: {err}", file=sys.stderr)
        raise SystemExit(1) from None


if __name__ == "__main__":
    main()
