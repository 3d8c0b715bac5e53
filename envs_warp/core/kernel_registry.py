"""Every Warp kernel module of the project, so tools can compile them all ahead of time."""
from __future__ import annotations

import importlib
from pathlib import Path

import warp as wp

from .warp_runtime import init_warp

# One entry per world (and per shared kernel file); a new world adds its kernels module here.
KERNEL_MODULES: tuple[str, ...] = (
    "envs_warp.lidarnav.kernels",
    "envs_warp.physics2d.kernels",
)


def kernel_modules() -> list:
    """Import and return every registered kernel module."""
    init_warp()
    return [importlib.import_module(name) for name in KERNEL_MODULES]


def warm_kernels(device: str = "cpu") -> None:
    """Compile (or load from the cache) every kernel module for ``device``."""
    for module in kernel_modules():
        wp.load_module(module, device=device)


def compile_for_cuda_arch(arch: int, out_dir: str | Path) -> list[Path]:
    """Compile every kernel module for CUDA ``sm_<arch>`` without a GPU (NVRTC); return the artifacts."""
    paths: list[Path] = []
    for module in kernel_modules():
        paths += wp.compile_aot_module(module, arch=arch, module_dir=str(out_dir), use_ptx=False)
    return paths
