"""One progress line for a whole training run: env steps done / total, env-steps/s, ETA, latest return and success.

Lightning's own bar counts batches of an epoch (here always ``1/1``); a PPO run is measured in env
steps. :class:`RunProgress` is a Lightning ``ProgressBar`` (so ``Trainer(enable_progress_bar=False)``
means no bar at all) that counts env steps over the run, starting at the resumed position. On a
terminal it redraws one line with a bar; into a file or pipe it writes a plain line at most every
``every_s`` seconds (and after the first and the last iteration)::

    ▕█████░░░░░░░░░░░░░░░▏ 25% 1.75M/7.00M env steps · 14.6k steps/s · 2:00 elapsed · ETA 6:00 · return 2.31 · success 0.41
"""
from __future__ import annotations

import shutil
import sys
import time
from typing import IO, Any

from lightning.pytorch.callbacks.progress import ProgressBar
from tqdm import tqdm

BAR_WIDTH = 20  # characters of the drawn bar (terminal only)


def _count(x: float, exact: bool) -> str:
    """``1,234,567`` (exact, or any count below 100k) or ``1.23M``."""
    return f"{int(x):,}" if exact or x < 100_000 else tqdm.format_sizeof(x).strip()


class RunProgress(ProgressBar):
    """Progress of the whole run in env steps (rank 0 only); see the module docstring."""

    def __init__(self, every_s: float = 30.0, stream: IO[str] | None = None, terminal: bool | None = None) -> None:
        super().__init__()
        self.every_s = every_s  # [s] between plain lines when not writing to a terminal
        self._stream = stream  # None: sys.stderr at the time of writing
        self._terminal = terminal  # None: whether the stream is a terminal
        self._enabled = True
        self._reset()

    def _reset(self) -> None:
        self.total = 0  # env steps of the whole run
        self.start = 0  # env steps done before this process started (a resumed run)
        self.done = 0  # env steps done so far
        self.per_iteration = 0  # env steps of one iteration over all ranks
        self.metrics: dict[str, float] = {}
        self._t0 = self._t_first = self._last_print = 0.0
        self._n_first = 0
        self._width = 0  # characters of the last line drawn on a terminal

    # ------------------------------------------------------------------ ProgressBar API
    def disable(self) -> None:
        self._enabled = False

    def enable(self) -> None:
        self._enabled = True

    @property
    def is_enabled(self) -> bool:
        return self._enabled

    def print(self, *args: Any, **kwargs: Any) -> None:
        """Print a message without breaking the progress line."""
        self._clear()
        print(*args, file=kwargs.pop("file", self.stream), **kwargs)

    # ------------------------------------------------------------------ hooks
    def on_train_start(self, trainer, pl_module) -> None:
        self._reset()
        if not self._enabled or not trainer.is_global_zero:
            return
        self.per_iteration = steps_per_iteration(pl_module) * trainer.world_size
        iterations = trainer.max_epochs if trainer.max_epochs not in (None, -1) else pl_module.num_iterations(
            trainer.world_size)
        self.total = iterations * self.per_iteration
        self.start = self.done = trainer.current_epoch * self.per_iteration
        self._t0 = time.monotonic()
        if self.terminal or self.start:  # a plain log starts with the resumed position, or with the first iteration
            self._write(final=False, force=True)

    def on_train_epoch_end(self, trainer, pl_module) -> None:
        if not self._enabled or not trainer.is_global_zero:
            return
        metrics = trainer.callback_metrics
        logged = metrics.get("env_steps")
        self.done = int(logged) if logged is not None else (trainer.current_epoch + 1) * self.per_iteration
        self.total = max(self.total, self.done)
        episodes = metrics.get("train/episodes")
        if episodes is None or float(episodes) > 0:  # an iteration where no episode ended keeps the last values
            for key in ("train/return", "train/success"):
                if key in metrics:
                    self.metrics[key.split("/")[-1]] = float(metrics[key])
        if self._t_first == 0.0:
            self._t_first, self._n_first = time.monotonic(), self.done
            self._write(final=False, force=True)
        else:
            self._write(final=False)

    def on_train_end(self, trainer, pl_module) -> None:
        if self._enabled and trainer.is_global_zero and self.total:
            self._write(final=True, force=True)

    # ------------------------------------------------------------------ drawing
    @property
    def stream(self) -> IO[str]:
        return self._stream or sys.stderr

    @property
    def terminal(self) -> bool:
        if self._terminal is not None:
            return self._terminal
        isatty = getattr(self.stream, "isatty", None)
        return bool(isatty and isatty())

    def rate(self) -> float | None:
        """[env steps / s] since the end of the first iteration (warm-up excluded), or since the start."""
        now = time.monotonic()
        if self._t_first and self.done > self._n_first and now > self._t_first:
            return (self.done - self._n_first) / (now - self._t_first)
        if self.done > self.start and now > self._t0:
            return (self.done - self.start) / (now - self._t0)
        return None

    def line(self) -> str:
        """The progress text (no bar): position, rate, elapsed time, ETA and the latest return and success."""
        exact = not self.terminal  # a log file gets every digit; a terminal line stays short
        frac = self.done / self.total if self.total else 0.0
        rate = self.rate()
        remaining = (self.total - self.done) / rate if rate else None
        parts = [f"{100 * frac:3.0f}% {_count(self.done, exact)}/{_count(self.total, exact)} env steps",
                 f"{tqdm.format_sizeof(rate).strip() if rate else '?'} steps/s",
                 f"{tqdm.format_interval(time.monotonic() - self._t0)} elapsed",
                 f"ETA {tqdm.format_interval(remaining) if remaining is not None else '?'}"]
        parts += [f"{name} {value:.2f}" for name, value in self.metrics.items()]
        return " · ".join(parts)

    def _write(self, final: bool, force: bool = False) -> None:
        now = time.monotonic()
        if self.terminal:
            filled = round(BAR_WIDTH * (self.done / self.total if self.total else 0.0))
            text = f"▕{'█' * filled}{'░' * (BAR_WIDTH - filled)}▏ {self.line()}"
            text = text[: max(20, shutil.get_terminal_size().columns - 1)]  # one screen line, or \r cannot redraw it
            self.stream.write("\r" + text + " " * max(0, self._width - len(text)) + ("\n" if final else ""))
            self._width = 0 if final else len(text)
        elif force or final or now - self._last_print >= self.every_s:
            self.stream.write(f"[train] {'finished: ' if final else ''}{self.line()}\n")
        else:
            return
        self._last_print = now
        self.stream.flush()

    def _clear(self) -> None:
        if self.terminal and self._width:
            self.stream.write("\r" + " " * self._width + "\r")
            self._width = 0


def steps_per_iteration(module) -> int:
    """Env steps one rank collects per PPO iteration."""
    frames = getattr(module, "frames_per_iteration", None)
    if isinstance(frames, int):
        return frames
    return int(module.env_cfg.num_envs) * int(module.hparams["ppo"]["rollout_len"])
