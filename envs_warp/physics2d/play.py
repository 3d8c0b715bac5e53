"""Play a physics2d level by hand (pygame, optional): drive the motors and thrusters with the keyboard.

    python -m envs_warp.physics2d.play --level path/to/level.json [--size l] [--policy pkg.mod:factory]

Keys: motor channel 0 ``LEFT``/``RIGHT``, 1 ``A``/``D``, 2 ``J``/``L``, 3 ``N``/``M`` (backward/forward);
thruster channel 0 ``UP`` or ``W``, 1 ``I``; ``R`` restarts, ``P`` pauses, ``Q``/``ESC`` quits. A level is
a Kinetix JSON file or one of our level files (``.json``/``.safetensors``; ``--index`` picks the level).
``--policy pkg.mod:factory`` lets a policy play instead: ``factory(env)`` returns a callable that
writes ``("agents", "action")`` into the TensorDict it is given (a trainer can offer one that loads a
checkpoint). pygame is not a dependency of the project: ``pip install pygame`` to use this.
"""
from __future__ import annotations

import argparse
import importlib
import json
from pathlib import Path
from typing import Callable, Iterable

import torch
from tensordict import TensorDict

from .env import Physics2DEnv, Physics2DEnvConfig
from .kinetix_format import kinetix_payload_to_level, kinetix_size
from .levels import capacity, level_schema
from .render import draw_row

MOTOR_KEYS = (("left", "right"), ("a", "d"), ("j", "l"), ("n", "m"))  # (backward, forward) per channel
THRUSTER_KEYS = (("up", "w"), ("i",))  # any of these fires the channel
CONTROL_KEYS = {name for pair in MOTOR_KEYS for name in pair} | {name for keys in THRUSTER_KEYS for name in keys}


def keys_to_action(pressed: Iterable[str]) -> torch.Tensor:
    """``[1, 1, 6]`` continuous action (motors in [-1, 1], thrusters in [0, 1]) from the names of held keys."""
    held = set(pressed)
    motors = [float(fwd in held) - float(back in held) for back, fwd in MOTOR_KEYS]
    thrusters = [float(any(k in held for k in keys)) for keys in THRUSTER_KEYS]
    return torch.tensor(motors + thrusters).view(1, 1, 6)


def load_level(path: str | Path, size: str | None = None, index: int = 0) -> tuple[TensorDict, str]:
    """One level (batch of 1) from a Kinetix JSON file or one of our level files, and its capacity name."""
    path = Path(path)
    if path.suffix == ".json":
        payload = json.loads(path.read_text())
        if isinstance(payload, dict) and "env_state" in payload:
            cap = capacity(size) if size else kinetix_size(payload)
            return kinetix_payload_to_level(payload, cap, source=str(path)), cap.name
    for name in ([size] if size else ["s", "m", "l"]):
        try:
            levels = level_schema(name).load(path)
        except ValueError:
            continue
        return levels[index: index + 1], name
    raise ValueError(f"{path}: neither a Kinetix level nor a physics2d level file of size {size or 's/m/l'}")


def load_policy(spec: str | Callable, env: Physics2DEnv) -> Callable[[TensorDict], TensorDict]:
    """``pkg.mod:factory`` (or a factory itself) -> ``factory(env)``."""
    if callable(spec):
        return spec(env)
    module, _, name = spec.partition(":")
    return getattr(importlib.import_module(module), name)(env)


def run(level: str | Path, size: str | None = None, index: int = 0, policy: str | Callable | None = None,
        px_per_m: float = 100.0, fps: int = 30, frames: int | None = None,
        action_type: str = "continuous") -> dict:
    """Open the window and play until quit (or for ``frames`` frames); returns episode counts.

    The keyboard drives continuous actions; a policy plays with the ``action_type`` it was trained on.
    """
    import pygame

    lv, size = load_level(level, size, index)
    env = Physics2DEnv(Physics2DEnvConfig(size=size, action_type=action_type), num_envs=1, random_levels=False)
    env.set_levels(lv)
    act = load_policy(policy, env) if policy else None
    pygame.init()
    try:
        frame = draw_row(env, 0, px_per_m)
        screen = pygame.display.set_mode((frame.shape[1], frame.shape[0]))
        pygame.display.set_caption(f"physics2d: {Path(level).name}")
        font = pygame.font.Font(None, 28)
        clock = pygame.time.Clock()
        td = env.reset()
        stats = {"frames": 0, "success": 0, "death": 0, "timeout": 0}
        message, message_frames, paused, running = "", 0, False, True
        while running and (frames is None or stats["frames"] < frames):
            for event in pygame.event.get():
                if event.type == pygame.QUIT:
                    running = False
                elif event.type == pygame.KEYDOWN:
                    key = pygame.key.name(event.key)
                    if key in ("q", "escape"):
                        running = False
                    elif key == "r":
                        td = env.reset()
                    elif key == "p":
                        paused = not paused
            if not paused:
                if act is not None:
                    td = act(td)
                else:
                    state = pygame.key.get_pressed()
                    held = {k for k in CONTROL_KEYS if state[pygame.key.key_code(k)]}
                    td.set(("agents", "action"), keys_to_action(held))
                out = env.step(td)["next"]
                if bool(out["done"][0, 0]):
                    r = float(out["agents", "reward"][0, 0, 0])
                    result = "success" if bool(out["agents", "reached_goal"][0, 0, 0]) else (
                        "death" if bool(out["agents", "crashed"][0, 0, 0]) else "timeout")
                    stats[result] += 1
                    message, message_frames = f"{result} (reward {r:+.2f})", fps
                    td = env.reset()
                else:
                    td = out
            frame = draw_row(env, 0, px_per_m)
            screen.blit(pygame.surfarray.make_surface(frame.swapaxes(0, 1)), (0, 0))
            if message_frames > 0:
                screen.blit(font.render(message, True, (0, 0, 0)), (10, 10))
                message_frames -= 1
            pygame.display.flip()
            clock.tick(fps)
            stats["frames"] += 1
        return stats
    finally:
        pygame.quit()


def main(argv: list[str] | None = None) -> None:
    """Command line entry point."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--level", required=True, help="Kinetix JSON level or physics2d level file")
    parser.add_argument("--size", default=None, help="capacity s/m/l (default: the smallest that fits)")
    parser.add_argument("--index", type=int, default=0, help="level index within a multi-level file")
    parser.add_argument("--policy", default=None, help="pkg.mod:factory giving a policy to watch")
    parser.add_argument("--scale", type=float, default=100.0, help="pixels per metre")
    parser.add_argument("--fps", type=int, default=30)
    parser.add_argument("--frames", type=int, default=None, help="quit after this many frames")
    args = parser.parse_args(argv)
    try:
        import pygame  # noqa: F401
    except ImportError:
        raise SystemExit("the play viewer needs pygame: pip install pygame") from None
    print(run(args.level, args.size, args.index, args.policy, args.scale, args.fps, args.frames))


if __name__ == "__main__":
    main()
