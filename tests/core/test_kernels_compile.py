"""Every Warp kernel module compiles for the CPU and, ahead of time, for CUDA sm_90 (no GPU needed)."""
from __future__ import annotations

import warp as wp

from envs_warp.core.kernel_registry import KERNEL_MODULES, compile_for_cuda_arch, kernel_modules


def test_every_kernel_module_is_registered_and_loads_on_cpu():
    modules = kernel_modules()
    assert len(modules) == len(KERNEL_MODULES)
    for module in modules:
        wp.load_module(module, device="cpu")


def test_every_kernel_module_compiles_for_cuda_sm90(tmp_path):
    artifacts = compile_for_cuda_arch(90, tmp_path)
    assert len(artifacts) == len(KERNEL_MODULES)
    for path in artifacts:
        assert path.exists() and path.stat().st_size > 0, path
