"""Policy model throughput: rollout steps/s (one step, no grad) and training-window steps/s (forward +
backward over ``[B, T]`` windows) vs batch, Transformer-XL memory length and model size. JSON output.

    python benchmarks/model_throughput.py                 # CPU, a small grid
    python benchmarks/model_throughput.py --device cuda --full
"""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import torch

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parent))
from results_io import write_results  # noqa: E402

from models.actor_critic import MODEL_SIZES, ActionSpace, ActorCritic, PolicyConfig  # noqa: E402

OBS_DIM = 64
ACTION = ActionSpace("discrete", n=6)


def _sync(device: str) -> None:
    if device.startswith("cuda"):
        torch.cuda.synchronize()


def _time(fn, device: str, min_s: float, min_reps: int = 3) -> float:
    """Seconds per call of ``fn`` (after one warm-up call), repeated for at least ``min_s`` seconds."""
    fn()
    _sync(device)
    reps, t0 = 0, time.perf_counter()
    while reps < min_reps or time.perf_counter() - t0 < min_s:
        fn()
        reps += 1
    _sync(device)
    return (time.perf_counter() - t0) / reps


def measure(cfg: PolicyConfig, size: str, batch: int, window: int, device: str, min_s: float,
            cache_dtype: torch.dtype = torch.float32) -> dict:
    """One row: rollout and training throughput of ``cfg`` at ``batch`` sequences."""
    torch.manual_seed(0)
    model = ActorCritic(OBS_DIM, ACTION, cfg).to(device)
    params = sum(p.numel() for p in model.parameters())
    obs = torch.randn(batch, OBS_DIM, device=device)
    memory = model.initial_memory(batch, device, cache_dtype)
    is_init = torch.zeros(batch, dtype=torch.bool, device=device)
    state = {"memory": memory, "head": 0}

    @torch.no_grad()
    def rollout_step():  # what RolloutPolicy runs: in-place ring buffer for Transformer-XL
        if model.cached_memory:
            dist, value = model.step_inplace(obs, state["memory"], is_init, state["head"])
            state["head"] = (state["head"] + 1) % cfg.memory_len
        else:
            dist, value, state["memory"] = model.step(obs, state["memory"], is_init)
        dist.sample()

    step_s = _time(rollout_step, device, min_s)
    seq_obs = torch.randn(batch, window, OBS_DIM, device=device)
    seq_init = torch.zeros(batch, window, dtype=torch.bool, device=device)
    seq_init[:, 0] = True
    actions = torch.zeros(batch, window, dtype=torch.long, device=device)
    seq_memory = (model.core.ordered(state["memory"], state["head"]) if model.cached_memory else state["memory"]).float()

    def train_window():
        dist, value = model.sequence(seq_obs, seq_memory, seq_init)
        loss = -dist.log_prob(actions).mean() + value.square().mean()
        model.zero_grad(set_to_none=True)
        loss.backward()

    window_s = _time(train_window, device, min_s)
    return {"core": cfg.core, "size": size, "params": params, "hidden": cfg.hidden, "layers": cfg.layers,
            "memory_len": cfg.memory_len if cfg.core == "trxl" else None, "batch": batch, "window": window,
            "device": device, "cache_dtype": str(cache_dtype).replace("torch.", ""),
            "rollout_steps_per_s": batch / step_s, "rollout_step_ms": 1e3 * step_s,
            "train_steps_per_s": batch * window / window_s, "train_window_ms": 1e3 * window_s}


def grid(full: bool, device: str) -> list[tuple[str, PolicyConfig, int, int]]:
    """(size, config, batch, window) points: batch sweep, memory-length sweep and size sweep."""
    gpu = device.startswith("cuda")
    batches = [64, 256, 1024, 4096] + ([16384] if gpu and full else [])
    memories = [16, 64, 256] if full else [16, 64]
    sizes = ["100k", "1M", "10M"] + (["100M"] if gpu else [])
    window = 32
    points: list[tuple[str, PolicyConfig, int, int]] = []
    for b in batches:  # batch sweep at 1M parameters
        points.append(("gru", PolicyConfig(core="gru", hidden=256), b, window))  # ~0.5M parameters
        points.append(("1M", PolicyConfig(**MODEL_SIZES["1M"], memory_len=32), b, window))
    for m in memories:  # memory-length sweep
        points.append(("1M", PolicyConfig(**MODEL_SIZES["1M"], memory_len=m), 256, window))
    for s in sizes:  # size sweep
        batch = 256 if s != "100M" else 64
        points.append((s, PolicyConfig(**MODEL_SIZES[s], memory_len=32), batch, window))
    return points


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    parser.add_argument("--full", action="store_true", help="larger grid (more batches and memory lengths)")
    parser.add_argument("--min-s", type=float, default=0.5, help="seconds of timing per measurement")
    parser.add_argument("--threads", type=int, default=0, help="torch CPU threads (0: torch's default)")
    parser.add_argument("--out", default=str(HERE / "results" / "model_throughput_{device}.json"))
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    rows = []
    header = f"{'core':5} {'size':5} {'params':>10} {'mem':>4} {'batch':>6} {'rollout st/s':>13} {'train st/s':>12}"
    print(header)
    for size, cfg, batch, window in grid(args.full, args.device):
        dtypes = [torch.float32] + ([torch.bfloat16] if args.device.startswith("cuda") and cfg.core == "trxl" else [])
        for dtype in dtypes:
            row = measure(cfg, size, batch, window, args.device, args.min_s, dtype)
            rows.append(row)
            print(f"{row['core']:5} {size:5} {row['params']:>10,} {row['memory_len'] or '-':>4} {batch:>6} "
                  f"{row['rollout_steps_per_s']:>13,.0f} {row['train_steps_per_s']:>12,.0f} {row['cache_dtype']}",
                  flush=True)
    write_results(args.out.format(device=args.device.split(":")[0]), rows, args.device,
                  threads=torch.get_num_threads(), obs_dim=OBS_DIM, window=32)


if __name__ == "__main__":
    main()
