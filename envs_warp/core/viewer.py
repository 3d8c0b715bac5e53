"""A window that shows frames (``[H, W, 3]`` uint8, as every world's ``draw_row`` makes them), with pygame.

pygame is optional (``pip install pygame``); nothing else in the package needs it. Keys: ``P`` pauses,
``R`` asks the caller to restart, ``Q`` or ``Esc`` (or closing the window) quits. With
``SDL_VIDEODRIVER=dummy`` it runs headless (tests).

Example::

    with FrameWindow("lidarnav", fps=15) as window:
        while "quit" not in (keys := window.events()):
            window.show(draw_row(env, 0), text="return 1.5")
"""
from __future__ import annotations

import os

import numpy as np


class FrameWindow:
    """A pygame window sized to the first frame it shows; ``events()`` reports ``quit``/``restart``/``pause`` keys."""

    def __init__(self, title: str, fps: int = 30) -> None:
        os.environ.setdefault("PYGAME_HIDE_SUPPORT_PROMPT", "1")
        try:
            import pygame
        except ImportError:
            raise ImportError("the play window needs pygame (pip install pygame)") from None
        self.pygame = pygame
        self.title = title
        self.fps = fps
        pygame.display.init()  # not pygame.init(): no audio device is needed
        pygame.font.init()
        self.clock = pygame.time.Clock()
        self.font = pygame.font.Font(None, 24)
        self.screen = None

    def events(self) -> set[str]:
        """Names of the actions asked for since the last call: ``quit``, ``restart``, ``pause`` (a toggle)."""
        pygame = self.pygame
        out = set()
        for event in pygame.event.get():
            if event.type == pygame.QUIT:
                out.add("quit")
            elif event.type == pygame.KEYDOWN:
                key = pygame.key.name(event.key)
                if key in ("q", "escape"):
                    out.add("quit")
                elif key == "r":
                    out.add("restart")
                elif key == "p":
                    out.add("pause")
        return out

    def show(self, frame: np.ndarray, text: str = "") -> None:
        """Draw ``frame`` ``[H, W, 3]`` uint8 with an optional caption line, then wait for the next tick at ``fps``."""
        pygame = self.pygame
        if self.screen is None:
            self.screen = pygame.display.set_mode((frame.shape[1], frame.shape[0]))
            pygame.display.set_caption(self.title)
        self.screen.blit(pygame.surfarray.make_surface(np.ascontiguousarray(frame.swapaxes(0, 1))), (0, 0))
        if text:
            self.screen.blit(self.font.render(text, True, (0, 0, 0), (255, 255, 255)), (6, 6))
        pygame.display.flip()
        self.clock.tick(self.fps)

    def close(self) -> None:
        """Close the window."""
        self.pygame.quit()

    def __enter__(self) -> "FrameWindow":
        return self

    def __exit__(self, *exc) -> None:
        self.close()
