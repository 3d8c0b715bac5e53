"""The one place that initialises Warp and fixes its kernel cache directory."""
from __future__ import annotations

import os
from pathlib import Path

import torch
import warp as wp

_CACHE_ENV = "ADA_WARP_CACHE"


def kernel_cache_dir() -> Path:
    """Directory where compiled Warp kernels are cached (``$ADA_WARP_CACHE`` or ``~/.cache/ada/warp``)."""
    root = os.environ.get(_CACHE_ENV)
    if root:
        return Path(root).expanduser()
    return Path.home() / ".cache" / "ada" / "warp" / wp.config.version


def init_warp(quiet: bool = True) -> None:
    """Initialise Warp once per process with the project's kernel cache; later calls are no-ops."""
    if getattr(init_warp, "_done", False):
        return
    if quiet:
        wp.config.log_level = 30  # warnings and errors only
    cache = kernel_cache_dir()
    cache.mkdir(parents=True, exist_ok=True)
    wp.config.kernel_cache_dir = str(cache)
    wp.init()
    init_warp._done = True  # type: ignore[attr-defined]


def warp_device(device: torch.device | str) -> str:
    """Warp device string for a torch device (``cpu`` or ``cuda:i``)."""
    device = torch.device(device)
    if device.type == "cuda":
        return f"cuda:{device.index if device.index is not None else torch.cuda.current_device()}"
    if device.type != "cpu":
        raise ValueError(f"Warp worlds run on cpu or cuda devices, got {device}")
    return "cpu"
