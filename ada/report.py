"""Summary of a finished run: the agent's held-out success next to the baselines', as Markdown."""
from __future__ import annotations

import json
import sys
from pathlib import Path


def report(run_dir: str | Path) -> str:
    """Markdown table of per-level success for agent, random and turn-to-goal (whichever were evaluated)."""
    eval_dir = Path(run_dir) / "eval"
    columns = {"agent": "results.json", "random": "results_random.json", "turn_to_goal": "results_turn_to_goal.json"}
    tables = {name: {r["level"]: r for r in json.loads((eval_dir / f).read_text())}
              for name, f in columns.items() if (eval_dir / f).is_file()}
    if not tables:
        raise FileNotFoundError(f"no evaluation results under {eval_dir}")
    levels = list(next(iter(tables.values())))
    lines = ["| level | " + " | ".join(f"{n} success" for n in tables) + " |",
             "|---|" + "---|" * len(tables)]
    for level in levels:
        lines.append(f"| {level} | " + " | ".join(f"{tables[n][level]['success_rate']:.2f}" for n in tables) + " |")
    text = "\n".join(lines)
    (eval_dir / "summary.md").write_text(text + "\n")
    return text


if __name__ == "__main__":
    print(report(sys.argv[1] if len(sys.argv) > 1 else "runs/lidarnav_gru"))
