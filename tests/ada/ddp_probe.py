"""Run ``ada train`` under DDP and save each rank's final parameters and curriculum state (a script, re-launched per rank)."""
from __future__ import annotations

import sys
from pathlib import Path

import torch

from ada.cli import train

if __name__ == "__main__":
    out = Path(sys.argv[1])
    module = train(sys.argv[2:])
    rank = module.global_rank
    torch.save({k: v.detach().cpu() for k, v in module.model.state_dict().items()}, out / f"rank{rank}.pt")
    if module.rt is not None and module.rt.sampler is not None:
        torch.save(module.rt.sampler.state_dict(), out / f"curriculum_rank{rank}.pt")
