"""Watch a checkpoint play: one env row of its world, driven by the deterministic agent, in a window or a GIF.

Works for every world with a renderer (``draw_row``); the level comes from a level file of the world
(any of its formats, via :func:`ada.worlds.read_level_file`) or, without one, from the world's own
random levels. A window needs pygame (optional); a GIF does not.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

from envs_warp.core.levels import LevelFileError
from envs_warp.core.render import save_video

from .players import CheckpointPlayer
from .worlds import agent_positions, build_env, draw_row_fn, read_level_file, success_key, world_of


@torch.no_grad()
def play(module, level_file: str | Path | None = None, index: int = 0, *, frames: int | None = None,
         episodes: int | None = None, gif: str | Path | None = None, fps: int = 15, seed: int = 0) -> dict:
    """Play ``module`` on level ``index`` of ``level_file`` (or random levels); returns counts of the run.

    With ``gif`` the frames are written there (no window; one episode unless ``frames``/``episodes`` say
    otherwise); without it a pygame window shows them until quit or the limits. The returned dict has
    ``frames`` (env steps shown), ``episodes``, ``successes``, ``returns`` (one per finished episode) and
    ``gif`` (the path, or None).
    """
    cfg = module.env_cfg
    world = world_of(cfg)
    world.require("renderer", "ada play")
    draw = draw_row_fn(cfg)
    if level_file is not None:
        levels, names = read_level_file(cfg, str(level_file))
        if not 0 <= index < len(names):
            raise LevelFileError(f"{level_file}: holds {len(names)} level(s); --index {index} is out of range")
        env = build_env(cfg, "cpu", seed, num_envs=1, random_levels=False)
        env.set_levels(levels[index : index + 1])
        title = f"{cfg.world}: {names[index]}"
    else:
        env = build_env(cfg, "cpu", seed, num_envs=1)  # the world's own random levels, a new one per episode
        title = f"{cfg.world}: random levels"
    if gif is not None and frames is None and episodes is None:
        episodes = 1
    window = None
    if gif is None:
        from envs_warp.core.viewer import FrameWindow

        window = FrameWindow(title, fps)
    player = CheckpointPlayer(module, env)
    success_at = success_key(cfg)
    trails: list[np.ndarray] = []  # [A, 2] [m] robot positions of the current episode

    def picture() -> np.ndarray:
        pos = agent_positions(cfg, env)
        if pos is None:
            return draw(env, 0)
        trails.append(pos[0].cpu().numpy().copy())
        return draw(env, 0, trails=list(np.stack(trails, axis=1)))  # [A, T, 2]

    stats: dict = {"frames": 0, "episodes": 0, "successes": 0, "returns": [], "gif": None}
    shown: list[np.ndarray] = []  # the GIF's frames
    state = {"td": None, "return": 0.0}

    def restart() -> np.ndarray:
        state["td"], state["return"] = env.reset(), 0.0
        trails.clear()
        return emit(picture())

    def emit(frame: np.ndarray) -> np.ndarray:
        if gif is not None:
            shown.append(frame)
        return frame

    frame, paused = restart(), False
    try:
        while (frames is None or stats["frames"] < frames) and (episodes is None or stats["episodes"] < episodes):
            if window is not None:
                keys = window.events()
                if "quit" in keys:
                    break
                paused = paused != ("pause" in keys)
                if "restart" in keys:
                    frame = restart()
                if paused:
                    window.show(frame, "paused (P)")
                    continue
            td = env.step(player(state["td"]))
            nxt = td["next"]
            state["return"] += float(nxt["agents", "reward"][0, :, 0].mean())
            stats["frames"] += 1
            frame = emit(picture())
            if bool(nxt["done"][0, 0]):
                stats["episodes"] += 1
                stats["successes"] += int(bool(nxt.get(success_at)[0, :, 0].all()))
                stats["returns"].append(state["return"])
                if window is not None:
                    window.show(frame, f"episode {stats['episodes']}: return {state['return']:+.2f}")
                if episodes is not None and stats["episodes"] >= episodes:
                    break
                frame = restart()
            else:
                state["td"] = nxt
                if window is not None:
                    window.show(frame, f"return {state['return']:+.2f}")
    finally:
        if window is not None:
            window.close()
    if gif is not None:
        stats["gif"] = str(save_video(shown, gif, fps=fps))
    return stats
