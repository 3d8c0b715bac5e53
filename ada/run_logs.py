"""The run folder's CSV metrics log, continued (not wiped) when a run resumes from a checkpoint."""
from __future__ import annotations

import csv
import os

from lightning.pytorch.loggers import CSVLogger
from lightning.pytorch.loggers.csv_logs import ExperimentWriter


class _ContinuingWriter(ExperimentWriter):
    """Keeps the rows of epochs up to ``keep_until_epoch`` (those the resumed checkpoint covers); later ones,
    logged before a kill but after the checkpoint, are dropped because the resumed run logs them again."""

    def __init__(self, log_dir: str, keep_until_epoch: int | None) -> None:
        path = os.path.join(log_dir, self.NAME_METRICS_FILE)
        header: list[str] = []
        kept: list[dict] = []
        if keep_until_epoch is not None and os.path.isfile(path):
            with open(path, newline="") as handle:
                reader = csv.DictReader(handle)
                header = list(reader.fieldnames or [])
                kept = [row for row in reader if row.get("epoch") and float(row["epoch"]) <= keep_until_epoch]
        super().__init__(log_dir)  # removes the old file
        if kept:
            with open(path, "w", newline="") as handle:
                writer = csv.DictWriter(handle, fieldnames=header)
                writer.writeheader()
                writer.writerows(kept)
            self.metrics_keys = header


class ResumableCSVLogger(CSVLogger):
    """``CSVLogger`` whose ``metrics.csv`` continues the history of a resumed run (``resume_epoch``: the
    checkpoint's last finished epoch; ``None`` starts a fresh file)."""

    def __init__(self, *args, resume_epoch: int | None = None, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self._resume_epoch = resume_epoch

    @property
    def experiment(self) -> ExperimentWriter:
        if self._experiment is None:
            self._fs.makedirs(self.root_dir, exist_ok=True)
            self._experiment = _ContinuingWriter(self.log_dir, self._resume_epoch)
        return self._experiment
