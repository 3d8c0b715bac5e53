"""``needs_kinetix_levels``: skip a test when Kinetix's bundled level files are not installed (make venv installs them)."""
from __future__ import annotations

import pytest

from envs_warp.physics2d.kinetix_format import MISSING_LEVELS, kinetix_levels_dir

needs_kinetix_levels = pytest.mark.skipif(kinetix_levels_dir() is None, reason=MISSING_LEVELS)
