"""Install the test-only point-mass world the way an outside user would: a distribution on ``sys.path``
whose ``entry_points.txt`` registers it under ``ada.worlds`` (and ``PYTHONPATH`` for subprocesses)."""
from __future__ import annotations

import os
import sys
from pathlib import Path

SITE = str(Path(__file__).resolve().parent / "site")
if SITE not in sys.path:
    sys.path.append(SITE)
    os.environ["PYTHONPATH"] = os.pathsep.join(p for p in (os.environ.get("PYTHONPATH"), SITE) if p)
