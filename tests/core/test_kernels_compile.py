"""Every Warp kernel module is declared by its world, compiles for the CPU and, ahead of time, for CUDA sm_90."""
from __future__ import annotations

from pathlib import Path

import warp as wp

from envs_warp.core.kernel_registry import compile_for_cuda_arch, kernel_module_names, kernel_modules

ROOT = Path(__file__).resolve().parents[2]


def _modules_defining_kernels() -> set[str]:
    """Every module under envs_warp whose source defines a ``@wp.kernel`` (found by reading the files)."""
    found = set()
    for path in (ROOT / "envs_warp").rglob("*.py"):
        if "@wp.kernel" in path.read_text():
            found.add(".".join(path.relative_to(ROOT).with_suffix("").parts))
    return found


def test_every_module_with_warp_kernels_is_declared_by_its_world():
    declared = {name for name in kernel_module_names() if name.startswith("envs_warp.")}  # outside worlds too
    on_disk = _modules_defining_kernels()
    assert on_disk, "no kernel modules found under envs_warp"
    assert on_disk <= declared, f"kernel modules no World declares: {sorted(on_disk - declared)}"
    assert declared <= on_disk, f"declared kernel modules that define no kernel: {sorted(declared - on_disk)}"


def test_every_kernel_module_loads_on_cpu():
    modules = kernel_modules()
    for module in modules:
        wp.load_module(module, device="cpu")
        kernels = [v for v in vars(module).values() if isinstance(v, wp.Kernel)]
        assert kernels, f"{module.__name__} holds no Warp kernel"


def test_every_kernel_module_compiles_for_cuda_sm90(tmp_path):
    artifacts = compile_for_cuda_arch(90, tmp_path)
    assert len(artifacts) >= len(kernel_module_names())
    for path in artifacts:
        assert path.exists() and path.stat().st_size > 0, path
