"""Summary of a finished run: the agent's held-out success next to every evaluated baseline's, as Markdown."""
from __future__ import annotations

import json
import sys
from pathlib import Path


def report(run_dir: str | Path) -> str:
    """Markdown table of per-level success: ``eval/results.json`` (the agent) then every ``results_<policy>.json``;
    then, if ``ada eval --trials`` ran, score and success by trial index (``score_by_trial*.json``)."""
    eval_dir = Path(run_dir) / "eval"
    files = sorted(eval_dir.glob("results*.json"), key=lambda p: (p.stem != "results", p.stem))
    tables = {("agent" if f.stem == "results" else f.stem.removeprefix("results_")):
              {r["level"]: r for r in json.loads(f.read_text())} for f in files}
    by_trial = sorted(eval_dir.glob("score_by_trial*.json"), key=lambda p: (p.stem != "score_by_trial", p.stem))
    if not tables and not by_trial:
        raise FileNotFoundError(f"no evaluation results under {eval_dir}")
    lines = []
    if tables:
        levels = list(next(iter(tables.values())))
        lines += ["| level | " + " | ".join(f"{n} success" for n in tables) + " |",
                  "|---|" + "---|" * len(tables)]
        for level in levels:
            cells = [f"{tables[n][level]['success_rate']:.2f}" if level in tables[n] else "" for n in tables]
            lines.append(f"| {level} | " + " | ".join(cells) + " |")
    if by_trial:
        from .trial_eval import trial_table

        runs = {("agent" if f.stem == "score_by_trial" else f.stem.removeprefix("score_by_trial_")):
                json.loads(f.read_text()) for f in by_trial}
        lines += [*([""] if lines else []), "By trial index (score: a trial's return):", "", trial_table(runs)]
    text = "\n".join(lines)
    (eval_dir / "summary.md").write_text(text + "\n")
    return text


if __name__ == "__main__":
    if len(sys.argv) != 2:
        raise SystemExit("usage: python -m ada.report RUN_DIR")
    print(report(sys.argv[1]))
