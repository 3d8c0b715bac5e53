"""What a kickstarting teacher costs per PPO iteration: the wall time of running the teacher along the rollout
(``DistillationLoss.prepare``) as a share of the whole iteration, and the iteration's slowdown against the same
student without a teacher (which adds the KL's cost in the update). Real training loop (``ada.train``), the
first iterations dropped as warm-up, medians over the rest. Prints a table, writes JSON.

    python benchmarks/kickstart_overhead.py --device cpu --envs 64 --iterations 8
    python benchmarks/kickstart_overhead.py --device cuda --envs 2048 --iterations 20
"""
from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

import torch
from lightning.pytorch.callbacks import Callback

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
from results_io import write_results  # noqa: E402

from ada.config import EnvConfig, PPOConfig  # noqa: E402
from ada.kickstart import KickstartConfig  # noqa: E402
from ada.module import PPOModule  # noqa: E402
from ada.trainer import train  # noqa: E402
from models.actor_critic import MODEL_SIZES, PolicyConfig  # noqa: E402

STUDENT = PolicyConfig(core="trxl", hidden=64, layers=2, heads=2, memory_len=16)
TEACHERS = {"gru-64": PolicyConfig(core="gru", hidden=64), "mlp-64": PolicyConfig(core="mlp", hidden=64),
            "trxl-100k": PolicyConfig(**MODEL_SIZES["100k"], memory_len=16),
            "trxl-1M": PolicyConfig(**MODEL_SIZES["1M"], memory_len=16)}


def sync(device: str) -> None:
    if device.startswith("cuda"):
        torch.cuda.synchronize()


class IterationClock(Callback):
    """Wall time [s] of every training epoch (one PPO iteration)."""

    def __init__(self, device: str) -> None:
        self.device, self.seconds, self._start = device, [], 0.0

    def on_train_epoch_start(self, trainer, pl_module) -> None:
        sync(self.device)
        self._start = time.perf_counter()

    def on_train_epoch_end(self, trainer, pl_module) -> None:
        sync(self.device)
        self.seconds.append(time.perf_counter() - self._start)


def time_run(teacher: str | None, env: EnvConfig, device: str, iterations: int, warmup: int, tmp: Path) -> dict:
    """Median iteration and teacher times [ms] of a short run with ``teacher`` (None: no kickstarting)."""
    kick = None
    if teacher is not None:
        source = PPOModule(env=env, policy=TEACHERS[teacher], seed=1)
        path = tmp / f"{teacher}.ckpt"
        torch.save({"state_dict": source.state_dict(), "hyper_parameters": dict(source.hparams)}, path)
        kick = KickstartConfig(teacher=str(path))
    ppo = PPOConfig(rollout_len=32, total_env_steps=10 ** 9, epochs=4, minibatches=4)
    module = PPOModule(env=env, ppo=ppo, policy=STUDENT, kickstart=kick)
    prepare_s: list[float] = []
    if teacher is not None:
        loss = module.losses[-1]
        inner = loss.prepare

        def timed(seq) -> None:
            sync(device)
            start = time.perf_counter()
            inner(seq)
            sync(device)
            prepare_s.append(time.perf_counter() - start)

        loss.prepare = timed
    clock = IterationClock(device)
    train(module, tmp / f"run_{teacher}", max_iterations=iterations, progress=False, artifacts=False,
          callbacks=[clock], accelerator="gpu" if device.startswith("cuda") else "cpu", checkpoint_every=10 ** 6)
    iteration = statistics.median(clock.seconds[warmup:])
    teacher_ms = 1000 * statistics.median(prepare_s[warmup:]) if prepare_s else 0.0
    params = sum(p.numel() for p in module.losses[-1].teachers[0].parameters()) if teacher else 0
    return {"teacher": teacher or "none", "teacher_params": params, "iteration_ms": 1000 * iteration,
            "teacher_ms": teacher_ms, "teacher_share": teacher_ms / (1000 * iteration)}


def main(argv: list[str] | None = None) -> list[dict]:
    """Time every teacher (and none), print the table, write JSON."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--envs", type=int, default=64)
    parser.add_argument("--iterations", type=int, default=8)
    parser.add_argument("--warmup", type=int, default=2)
    parser.add_argument("--teachers", nargs="+", choices=sorted(TEACHERS), default=list(TEACHERS))
    parser.add_argument("--out", default=str(HERE / "results" / "kickstart_overhead.json"))
    args = parser.parse_args(argv)
    torch.set_num_threads(1)
    env = EnvConfig(world="lidarnav", num_envs=args.envs, overrides={"max_steps": 60})
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for teacher in [None, *args.teachers]:
            rows.append(time_run(teacher, env, args.device, args.iterations, args.warmup, Path(tmp)))
    base = rows[0]["iteration_ms"]
    print(f"student: Transformer-XL hidden {STUDENT.hidden}, {STUDENT.layers} layers; {args.envs} envs x 32 steps "
          f"per iteration; {args.device}")
    print("| teacher | teacher params | iteration [ms] | teacher [ms] | teacher share | vs none |")
    print("|---|---|---|---|---|---|")
    for row in rows:
        row["vs_none"] = row["iteration_ms"] / base
        print(f"| {row['teacher']} | {row['teacher_params']:,} | {row['iteration_ms']:.0f} | {row['teacher_ms']:.0f} | "
              f"{row['teacher_share']:.2f} | {row['vs_none']:.2f} |")
    write_results(args.out, rows, args.device, envs=args.envs, iterations=args.iterations, warmup=args.warmup,
                  student=vars(STUDENT))
    return rows


if __name__ == "__main__":
    main()
