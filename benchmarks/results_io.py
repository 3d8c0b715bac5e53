"""Shared output of the benchmark scripts: machine description plus rows, written as JSON."""
from __future__ import annotations

import json
import os
import platform
from pathlib import Path
from typing import Any

import torch


def write_results(path: str | Path, rows: list[dict], device: str, **extra: Any) -> Path:
    """Write ``{"meta": ..., "rows": rows}`` to ``path`` and print where."""
    meta = {"python": platform.python_version(), "torch": torch.__version__, "cpu_count": os.cpu_count(),
            "machine": platform.machine(), "device": device,
            "gpu": torch.cuda.get_device_name() if device.startswith("cuda") else None, **extra}
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps({"meta": meta, "rows": rows}, indent=1))
    print(f"wrote {path}")
    return path
