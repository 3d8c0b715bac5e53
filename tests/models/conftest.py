"""Model tests train tiny policies next to another xdist worker: one torch thread each avoids oversubscription."""
from __future__ import annotations

import torch

torch.set_num_threads(1)
