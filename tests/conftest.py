"""Shared test set-up: Warp initialised once and every kernel module compiled before workers start."""
from __future__ import annotations

import pytest
import torch


def pytest_configure(config: pytest.Config) -> None:
    """Warm the kernel cache once per run (in the xdist controller, before workers import kernels)."""
    if hasattr(config, "workerinput"):
        return
    from envs_warp.core.kernel_registry import warm_kernels

    warm_kernels("cpu")


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Skip ``gpu``-marked tests when no CUDA device is present."""
    if torch.cuda.is_available():
        return
    skip = pytest.mark.skip(reason="needs a CUDA device; none is present")
    for item in items:
        if "gpu" in item.keywords:
            item.add_marker(skip)
