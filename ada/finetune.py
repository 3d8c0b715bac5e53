"""``ada finetune``: a checkpoint's agent trained on one held-out level (or a set), beside the same budget from scratch.

Kinetix's fine-tuning experiment: a generalist trained on random levels adapts to a hand-designed level
faster than an agent trained on it from scratch. What changes from the checkpoint's run is only what must:

- the levels: the chosen ones become the env's whole level bank (``bank_path``, written to the run
  folder) and the curriculum is uniform over them (a curriculum that draws random levels would leave them);
  an entity policy runs them at their own size (the largest among them), a flat policy at its own;
- the budget: ``ppo.total_env_steps`` is the fine-tuning budget (the LR schedule spans it).

The network, PPO settings, env count and seed stay as they were; the fine-tuned run starts from the
checkpoint's weights (fresh optimiser), the scratch run from the seed's initial weights. Both runs log to
``<out>/{finetune,scratch}/logs``; ``curves.png`` plots their training success against env steps, and
``finetune.json`` holds the success on the levels before (zero-shot) and after each run.
"""
from __future__ import annotations

import argparse
import dataclasses
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

import numpy as np
from tensordict import TensorDict

from curricula import CurriculumConfig
from envs_warp.core.levels import LevelFileError

from .artifacts import read_metrics
from .config import EnvConfig
from .evaluate import run_attempts
from .train_args import ConfigError
from .worlds import build_env, held_out_levels, read_level_file, world_config, world_of
from .zero_shot import SIZES


@dataclass
class FinetuneConfig:
    """What ``ada finetune`` runs."""

    ckpt: str  # the checkpoint (or exported agent) to start from
    levels: str = "held_out"  # "held_out" (every held-out level), "held_out:NAME[,NAME...]", or a level file
    env_steps: int = 100_000  # budget of each run [env steps]
    out: str = "runs/finetune"  # folder of both runs, the plot and finetune.json
    scratch: bool = True  # also train from scratch with the same budget
    attempts: int = 10  # evaluation attempts per level, before and after
    seed: int | None = None  # None: the checkpoint's seed

    def __post_init__(self) -> None:
        if self.env_steps < 1:
            raise ConfigError(f"finetune: --env-steps must be >= 1, got {self.env_steps}")
        if self.attempts < 1:
            raise ConfigError(f"finetune: --attempts must be >= 1, got {self.attempts}")


def _sized(env_cfg: EnvConfig, size: str) -> EnvConfig:
    return dataclasses.replace(env_cfg, overrides={**env_cfg.overrides, "size": size})


def select_levels(source, spec: str) -> tuple[TensorDict, list[str], EnvConfig]:
    """(levels ``[L]``, names, env config at the size they run) for ``spec`` (see ``FinetuneConfig.levels``)."""
    env_cfg = source.env_cfg
    wcfg = world_config(env_cfg)
    sized = hasattr(wcfg, "size")
    entity = source.policy_cfg.encoder == "entity"
    if not spec.startswith("held_out"):
        levels, names = read_level_file(env_cfg, spec)
        return levels, names, env_cfg
    widest = _sized(env_cfg, SIZES[-1]) if sized and entity else env_cfg  # every level an entity policy can run
    _, all_names = held_out_levels(widest)
    wanted = [n for n in spec.partition(":")[2].split(",") if n] or list(all_names)
    picked = []
    for name in wanted:
        match = [n for n in all_names if n == name or n.split("/", 1)[-1] == name]
        if len(match) != 1:
            raise LevelFileError(f"finetune --levels: {name!r} names {len(match)} held-out levels of this policy's "
                                 f"sizes; known: {', '.join(all_names)}")
        picked.append(match[0])
    run_cfg = env_cfg
    if sized and entity:  # the smallest capacity that holds every chosen level
        run_cfg = _sized(env_cfg, max((n.split("/", 1)[0] for n in picked), key=SIZES.index))
    levels, names = held_out_levels(run_cfg)
    index = [names.index(n) for n in picked]
    return levels[index], picked, run_cfg


def finetune_module(source, env_cfg: EnvConfig, env_steps: int, seed: int, from_source: bool):
    """A ``PPOModule`` like ``source`` but on ``env_cfg`` (the bank of chosen levels), uniform curriculum, ``env_steps``
    budget; starting from ``source``'s weights when ``from_source``, else from ``seed``'s initial weights."""
    from .module import PPOModule

    ppo = dataclasses.replace(source.ppo_cfg, total_env_steps=env_steps)
    module = PPOModule(env=env_cfg, ppo=ppo, policy=source.policy_cfg, seed=seed, curriculum=CurriculumConfig())
    if from_source:
        module.model.load_state_dict(source.model.state_dict())
    return module


def bank_config(env_cfg: EnvConfig, levels: TensorDict, names: list[str], path: Path) -> EnvConfig:
    """``env_cfg`` whose level bank is exactly ``levels`` (written to ``path`` in the world's level format)."""
    world = world_of(env_cfg)
    fields = {f.name for f in dataclasses.fields(world.config)}
    if not {"bank_path", "bank_size"} <= fields:
        raise LevelFileError(f"finetune: world {world.name!r} has no level bank to train on chosen levels "
                             f"(its config needs 'bank_path' and 'bank_size')")
    probe = build_env(env_cfg, "cpu", seed=0, num_envs=1, random_levels=False)
    path.parent.mkdir(parents=True, exist_ok=True)
    probe.level_schema.save(levels.cpu(), path, names)
    overrides = {**env_cfg.overrides, "bank_path": str(path.resolve()), "bank_size": int(levels.batch_size[0]),
                 "bank_noop_filter": False}
    return dataclasses.replace(env_cfg, overrides=overrides)


def success_curve(run_dir: str | Path) -> tuple[np.ndarray, np.ndarray]:
    """(env steps ``[I]``, training success ``[I]``) of a run, from its CSV log (iterations where episodes ended)."""
    points = sorted(read_metrics(Path(run_dir) / "logs" / "version_0" / "metrics.csv").get("train/success", []))
    return np.asarray([p[0] for p in points]), np.asarray([p[1] for p in points])


def plot_learning_curves(curves: dict[str, tuple[np.ndarray, np.ndarray]], path: str | Path, title: str = "") -> Path:
    """PNG of training success against env steps, one line per run."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=(5.5, 3.8))
    FigureCanvasAgg(fig)
    ax = fig.add_subplot()
    for label, (x, y) in curves.items():
        ax.plot(x, y, marker=".", label=label)
    ax.set_xlabel("env steps")
    ax.set_ylabel("training success")
    ax.set_ylim(-0.02, 1.02)
    ax.grid(True, alpha=0.3)
    ax.legend()
    if title:
        ax.set_title(title)
    fig.tight_layout()
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=120)
    return path


def run_finetune(cfg: FinetuneConfig, callbacks: Sequence = (), device: str = "cpu") -> dict:
    """Fine-tune ``cfg.ckpt`` on ``cfg.levels`` (and train from scratch beside it); returns ``finetune.json``'s dict."""
    from .checkpoint import load_module
    from .trainer import train

    source = load_module(cfg.ckpt)
    out = Path(cfg.out)
    levels, names, run_cfg = select_levels(source, cfg.levels)
    env_cfg = bank_config(run_cfg, levels, names, out / "levels.safetensors")
    seed = source.seed if cfg.seed is None else cfg.seed

    def rate(module) -> np.ndarray:  # [L, attempts] first-episode success on the chosen levels
        return run_attempts(module, levels, cfg.attempts, seed=seed + 1, device=device)["success"]

    before = finetune_module(source, env_cfg, cfg.env_steps, seed, from_source=True)
    result = {"checkpoint": str(cfg.ckpt), "levels": names, "env_steps": cfg.env_steps, "seed": seed,
              "attempts": cfg.attempts, "size": getattr(world_config(env_cfg), "size", None),
              "zero_shot": rate(before).mean(axis=1).tolist()}
    runs = {"finetune": True, **({"scratch": False} if cfg.scratch else {})}
    curves = {}
    for label, from_source in runs.items():
        module = finetune_module(source, env_cfg, cfg.env_steps, seed, from_source)
        module = train(module, out / label, progress=False, artifacts=False, callbacks=list(callbacks),
                       accelerator="gpu" if str(device).startswith("cuda") else "cpu")
        result[label] = rate(module).mean(axis=1).tolist()
        curves[label] = success_curve(out / label)
    plot_learning_curves(curves, out / "curves.png", f"{len(names)} level(s), {cfg.env_steps} env steps, seed {seed}")
    (out / "finetune.json").write_text(json.dumps(result, indent=1))
    return result


def finetune_main(argv: list[str] | None = None) -> dict:
    """``ada finetune``: a checkpoint's agent trained further on held-out levels, beside the same budget from scratch"""
    parser = argparse.ArgumentParser(prog="ada finetune", description=finetune_main.__doc__)
    parser.add_argument("--ckpt", required=True, help="checkpoint or exported agent to start from")
    parser.add_argument("--levels", default="held_out",
                        help="'held_out', 'held_out:NAME[,NAME]' (e.g. held_out:m/arm_hard) or a level file")
    parser.add_argument("--env-steps", type=int, default=FinetuneConfig.env_steps, help="budget of each run")
    parser.add_argument("--out", default=FinetuneConfig.out, help="output folder")
    parser.add_argument("--no-scratch", action="store_true", help="skip the from-scratch run")
    parser.add_argument("--attempts", type=int, default=FinetuneConfig.attempts)
    parser.add_argument("--seed", type=int, default=None, help="default: the checkpoint's seed")
    args = parser.parse_args(argv)
    cfg = FinetuneConfig(ckpt=args.ckpt, levels=args.levels, env_steps=args.env_steps, out=args.out,
                         scratch=not args.no_scratch, attempts=args.attempts, seed=args.seed)
    result = run_finetune(cfg)
    for label in ("zero_shot", "finetune", "scratch"):
        if label in result:
            print(f"{label:>9}: success {np.mean(result[label]):.2f} on {len(result['levels'])} level(s)")
    print(f"wrote {Path(cfg.out) / 'finetune.json'} and {Path(cfg.out) / 'curves.png'}")
    return result
