"""Every Warp kernel module of every discoverable world, so tools can compile them all ahead of time.

Worlds declare their kernel modules in their ``World`` (``kernel_modules``); nothing here names a world.
"""
from __future__ import annotations

import importlib
from pathlib import Path

import warp as wp

from .warp_runtime import init_warp
from .world import all_worlds


def kernel_module_names() -> list[str]:
    """Names of the kernel modules of every discoverable world (sorted, without duplicates)."""
    return sorted({name for world in all_worlds() for name in world.kernel_modules})


def kernel_modules() -> list:
    """Import and return every world's kernel modules."""
    init_warp()
    return [importlib.import_module(name) for name in kernel_module_names()]


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
