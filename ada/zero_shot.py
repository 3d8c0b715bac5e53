"""Zero-shot evaluation on a world's held-out levels at their own sizes, in Kinetix's table format.

For a world whose config has a ``size`` field and whose held-out names read ``"<size>/<level>"``
(physics2d: Kinetix's 10 S, 24 M and 40 L hand-designed levels), every size's levels run in an env of
that size. An entity policy's weights do not depend on the capacity, so one checkpoint runs at every
size; a flat policy's input size does, so it runs its own size and the smaller levels padded into it,
and larger sizes are reported as not run. Output: a solve rate per level and per size (mean solve rate
and levels solved on at least half of the attempts), a Markdown table, and GIFs.
"""
from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import numpy as np

from envs_warp.core.levels import LevelFileError

from .config import EnvConfig
from .evaluate import level_gif, run_attempts
from .worlds import held_out_levels, world_config

SIZES = ("s", "m", "l")
SOLVED_AT = 0.5  # a level counts as solved when at least this fraction of its attempts succeed


def module_at_size(module, size: str):
    """``module`` (a ``PPOModule``) rebuilt for ``size`` levels with the same weights (entity policies only)."""
    from .module import PPOModule

    if world_config(module.env_cfg).size == size:
        return module
    env_cfg = dataclasses.replace(module.env_cfg, overrides={**module.env_cfg.overrides, "size": size})
    other = PPOModule(env=env_cfg, ppo=module.ppo_cfg, policy=module.policy_cfg, seed=module.seed)
    other.model.load_state_dict(module.model.state_dict())
    return other


def runnable_sizes(module) -> list[str]:
    """Sizes whose levels ``module`` can run at their own size (all for an entity policy, else its own)."""
    own = world_config(module.env_cfg).size
    return list(SIZES) if module.policy_cfg.encoder == "entity" else [own]


def levels_of_size(env_cfg: EnvConfig, size: str):
    """(levels ``[L]``, names) of the held-out levels of exactly ``size``, in an env config of that size."""
    cfg = dataclasses.replace(env_cfg, overrides={**env_cfg.overrides, "size": size})
    levels, names = held_out_levels(cfg)
    keep = [i for i, name in enumerate(names) if name.split("/", 1)[0] == size]
    return levels[keep], [names[i] for i in keep], cfg


def evaluate_zero_shot(module, attempts: int = 10, seed: int = 0, device: str = "cpu",
                       out_dir: str | Path | None = None, gifs: int = 0) -> dict:
    """Solve rate per held-out level at its own size and per size; tables (and ``gifs`` GIFs per size) in ``out_dir``.

    Returns ``{"levels": [{"level", "size", "solve_rate"}], "sizes": {size: {"levels", "mean_solve_rate",
    "solved"}}}``; a size the policy cannot run (flat policy, larger capacity) gets ``None`` rates.
    """
    if not hasattr(world_config(module.env_cfg), "size"):
        raise LevelFileError(f"zero-shot by size: world {module.env_cfg.world!r} has no 'size' in its config")
    rows, sizes = [], {}
    own = world_config(module.env_cfg).size
    runnable = runnable_sizes(module)
    for size in SIZES:
        if size in runnable:
            sized = module_at_size(module, size)
            levels, names, _ = levels_of_size(module.env_cfg, size)
            outcome = run_attempts(sized, levels, attempts, seed=seed, device=device)
            rates = outcome["success"].mean(axis=1)  # [L]
            for i, name in enumerate(names[:gifs] if out_dir is not None else []):
                level_gif(sized, levels[i : i + 1], Path(out_dir) / "gifs" / f"{name.replace('/', '_')}.gif")
        elif SIZES.index(size) < SIZES.index(own):  # a flat policy: smaller levels padded into its own size
            levels, names = _smaller(module.env_cfg, size)
            rates = run_attempts(module, levels, attempts, seed=seed, device=device)["success"].mean(axis=1)
        else:  # a flat policy cannot read a larger capacity's observation
            names, rates = levels_of_size(module.env_cfg, size)[1], None
        for i, name in enumerate(names):
            rows.append({"level": name, "size": size.upper(),
                         "solve_rate": None if rates is None else float(rates[i])})
        sizes[size.upper()] = {"levels": len(names),
                               "mean_solve_rate": None if rates is None else float(np.mean(rates)),
                               "solved": None if rates is None else int((rates >= SOLVED_AT).sum())}
    ran = [r["solve_rate"] for r in rows if r["solve_rate"] is not None]
    sizes["ALL"] = {"levels": len(ran), "mean_solve_rate": float(np.mean(ran)) if ran else None,
                    "solved": int(sum(r >= SOLVED_AT for r in ran))}
    result = {"attempts": attempts, "seed": seed, "levels": rows, "sizes": sizes}
    if out_dir is not None:
        out = Path(out_dir)
        out.mkdir(parents=True, exist_ok=True)
        (out / "zero_shot.json").write_text(json.dumps(result, indent=1))
        (out / "zero_shot.md").write_text(markdown_table(result))
    return result


def _smaller(env_cfg: EnvConfig, size: str):
    """Held-out levels of exactly ``size`` padded into ``env_cfg``'s own capacity, and their names."""
    levels, names = held_out_levels(env_cfg)
    keep = [i for i, name in enumerate(names) if name.split("/", 1)[0] == size]
    return levels[keep], [names[i] for i in keep]


def markdown_table(result: dict) -> str:
    """Kinetix-style tables: per size (levels, mean solve rate, levels solved), then every level by size."""
    show = lambda v: "n/a" if v is None else f"{v:.2f}"  # noqa: E731
    lines = [f"Zero-shot solve rate ({result['attempts']} attempts per level, seed {result['seed']}; "
             f"solved = rate >= {SOLVED_AT})", "", "| Size | Levels | Mean solve rate | Solved |", "|---|---|---|---|"]
    for size, row in result["sizes"].items():
        solved = "n/a" if row["solved"] is None else f"{row['solved']}/{row['levels']}"
        lines.append(f"| {size} | {row['levels']} | {show(row['mean_solve_rate'])} | {solved} |")
    lines += ["", "| Level | Size | Solve rate |", "|---|---|---|"]
    lines += [f"| {r['level'].split('/', 1)[-1]} | {r['size']} | {show(r['solve_rate'])} |" for r in result["levels"]]
    return "\n".join(lines) + "\n"
