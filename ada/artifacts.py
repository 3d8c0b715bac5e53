"""End-of-run pictures: training curves from the CSV log, and a GIF of the trained agent."""
from __future__ import annotations

import csv
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
from lightning.pytorch.callbacks import Callback  # noqa: E402

CURVES = (("train/return", "episode return"), ("train/success", "success rate"), ("perf/env_steps_per_s", "env-steps/s"))


def read_metrics(csv_path: str | Path) -> dict[str, list[tuple[float, float]]]:
    """``{metric: [(env_steps, value), ...]}`` from a Lightning CSV log (rows without ``env_steps`` skipped)."""
    series: dict[str, list[tuple[float, float]]] = {}
    with open(csv_path, newline="") as handle:
        for row in csv.DictReader(handle):
            steps = row.get("env_steps")
            if not steps:
                continue
            for key, value in row.items():
                if value not in ("", None) and key not in ("env_steps", "epoch", "step"):
                    series.setdefault(key, []).append((float(steps), float(value)))
    return series


def plot_curves(csv_path: str | Path, out_dir: str | Path) -> list[Path]:
    """One PNG per training curve (return, success rate, env-steps/s) against env steps."""
    series = read_metrics(csv_path)
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    written = []
    for key, label in CURVES:
        points = sorted(series.get(key, []))
        if not points:
            continue
        fig, ax = plt.subplots(figsize=(5, 3.2), dpi=110)
        ax.plot([p[0] for p in points], [p[1] for p in points], lw=1.5)
        ax.set_xlabel("env steps")
        ax.set_ylabel(label)
        ax.grid(alpha=0.3)
        fig.tight_layout()
        path = out_dir / f"{key.split('/')[-1]}.png"
        fig.savefig(path)
        plt.close(fig)
        written.append(path)
    return written


class RunArtifacts(Callback):
    """After training (rank 0): plots of the curves and a GIF of the deterministic agent on a test level."""

    def on_train_end(self, trainer, pl_module) -> None:
        if trainer.global_rank != 0:
            return
        root = Path(trainer.default_root_dir)
        for logger in trainer.loggers:
            metrics = Path(logger.log_dir or "") / "metrics.csv"
            if metrics.is_file():
                plot_curves(metrics, root / "plots")
        from .evaluate import agent_gif
        from .worlds import has_pictures

        if has_pictures(pl_module.env_cfg):
            agent_gif(pl_module, root / "plots" / "agent.gif")
