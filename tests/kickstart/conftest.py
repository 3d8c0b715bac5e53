"""Kickstarting tests share the CPU with other workers: one torch thread each."""
from __future__ import annotations

import torch

torch.set_num_threads(1)
