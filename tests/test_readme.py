"""The README's Python examples run as written on the CPU install (each ```python block, in order, in a fresh folder)."""
from __future__ import annotations

import re
from pathlib import Path

import pytest

README = Path(__file__).resolve().parents[1] / "README.md"


def python_blocks(text: str) -> list[tuple[int, str]]:
    """``(line number, code)`` of every fenced ```python block."""
    out = []
    for match in re.finditer(r"^```python\n(.*?)^```", text, flags=re.S | re.M):
        out.append((text[: match.start()].count("\n") + 1, match.group(1)))
    return out


def test_readme_has_the_environment_and_training_examples():
    blocks = python_blocks(README.read_text())
    assert len(blocks) >= 2, "README lost its Python examples"
    assert any("LidarNavEnv(" in code for _, code in blocks)
    assert any("from ada import" in code and "train(" in code for _, code in blocks)


@pytest.mark.xdist_group("training")
@pytest.mark.parametrize("line, code", python_blocks(README.read_text()),
                         ids=[f"README.md:{line}" for line, _ in python_blocks(README.read_text())])
def test_readme_python_block_runs(line, code, tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)  # blocks that write runs/... write them here
    namespace: dict = {"__name__": f"readme_block_{line}"}
    exec(compile(code, f"README.md:{line}", "exec"), namespace)
    if "train(" in code:  # the training example left a finished run folder behind
        assert list(tmp_path.glob("runs/*/checkpoints/last.ckpt")), "the README's train() wrote no checkpoint"
        assert "success" in capsys.readouterr().out
