"""Kernel launches over env rows: one launch on CUDA, row chunks on parallel threads on the CPU.

Warp runs a CPU launch on one core. Every world kernel is launched over ``(env, ...)`` and treats
rows independently, so on the CPU the rows can be cut into contiguous chunks, each launched from its
own thread (Warp's native call releases the GIL). Results are identical to one launch: each row is
computed by the same code on the same data. Warp views of every chunk are made once, when a tensor
is registered with :meth:`RowLauncher.rows`.
"""
from __future__ import annotations

import os
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any, Sequence

import torch
import warp as wp

_THREADS_ENV = "ADA_WARP_CPU_THREADS"
_MIN_ROWS_PER_CHUNK = 256
_POOLS: dict[int, ThreadPoolExecutor] = {}


def cpu_threads() -> int:
    """Threads for CPU launches: ``$ADA_WARP_CPU_THREADS`` or the usable cores."""
    value = os.environ.get(_THREADS_ENV)
    if value:
        return max(1, int(value))
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # not on Linux
        return max(1, os.cpu_count() or 1)


@dataclass(frozen=True)
class RowArray:
    """A per-row tensor seen by Warp: one view per chunk of rows (made once)."""

    tensor: torch.Tensor
    chunks: tuple[Any, ...]


class RowLauncher:
    """Launches kernels whose first launch dimension is the env row, chunked across CPU threads."""

    def __init__(self, device: str, num_rows: int, threads: int | None = None) -> None:
        self.device = device
        self.num_rows = num_rows
        threads = 1 if device != "cpu" else (threads or cpu_threads())
        count = max(1, min(threads, num_rows // _MIN_ROWS_PER_CHUNK))
        edges = [round(i * num_rows / count) for i in range(count + 1)]
        self.bounds = tuple((lo, hi) for lo, hi in zip(edges[:-1], edges[1:]))
        self.pool = None
        if len(self.bounds) > 1:
            self.pool = _POOLS.setdefault(len(self.bounds), ThreadPoolExecutor(len(self.bounds), "ada-warp"))

    def rows(self, tensor: torch.Tensor, dtype: Any = None) -> RowArray:
        """Register a ``[N, ...]`` tensor: Warp views of each chunk of its rows (zero-copy)."""
        if tensor.shape[0] != self.num_rows:
            raise ValueError(f"expected {self.num_rows} rows, got shape {tuple(tensor.shape)}")
        views = tuple(wp.from_torch(tensor[lo:hi], dtype=dtype) if dtype else wp.from_torch(tensor[lo:hi])
                      for lo, hi in self.bounds)
        return RowArray(tensor, views)

    def launch(self, kernel: Any, tail: Sequence[int], inputs: Sequence[Any], outputs: Sequence[Any] = ()) -> None:
        """Launch ``kernel`` over ``(rows, *tail)``; ``RowArray`` arguments are cut per chunk, others shared."""
        def one(chunk: int) -> None:
            lo, hi = self.bounds[chunk]
            pick = lambda args: [a.chunks[chunk] if isinstance(a, RowArray) else a for a in args]
            wp.launch(kernel, dim=(hi - lo, *tail), inputs=pick(inputs), outputs=pick(outputs), device=self.device)

        if self.pool is None:
            one(0)
        else:
            for future in [self.pool.submit(one, c) for c in range(len(self.bounds))]:
                future.result()

    def record(self, kernel: Any, tail: Sequence[int], inputs: Sequence[Any],
               outputs: Sequence[Any] = ()) -> "RecordedLaunch":
        """``launch``'s arguments packed once (a Warp ``Launch`` per chunk) for cheap replays on a hot path.

        Arrays are bound as they are now (tensors must stay allocated); a struct argument is read at every
        replay, so changing its fields is seen. Replays run chunk 0 on the calling thread, the rest on the pool.
        """
        cmds = []
        for chunk, (lo, hi) in enumerate(self.bounds):
            pick = lambda args: [a.chunks[chunk] if isinstance(a, RowArray) else a for a in args]  # noqa: E731
            cmds.append(wp.launch(kernel, dim=(hi - lo, *tail), inputs=pick(inputs), outputs=pick(outputs),
                                  device=self.device, record_cmd=True))
        return RecordedLaunch(tuple(cmds), self.pool)


@dataclass(frozen=True)
class RecordedLaunch:
    """A chunked kernel launch recorded by :meth:`RowLauncher.record`; call :meth:`launch` to run it."""

    cmds: tuple[Any, ...]
    pool: ThreadPoolExecutor | None

    def launch(self) -> None:
        """Run every chunk (chunk 0 here, the others on the pool's threads) and wait for them."""
        if self.pool is None:
            self.cmds[0].launch()
            return
        futures = [self.pool.submit(cmd.launch) for cmd in self.cmds[1:]]
        self.cmds[0].launch()
        for future in futures:
            future.result()
