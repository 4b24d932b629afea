"""Fixtures every test module may use."""

from __future__ import annotations

import os
from pathlib import Path

import pytest


@pytest.fixture(scope="module")
def shots(tmp_path_factory) -> Path:
    """Where browser tests save screenshots: $GRU_VIZ_SCREENSHOTS (assets/ for the README's), or
    a pytest temp folder."""
    folder = Path(os.environ.get("GRU_VIZ_SCREENSHOTS") or tmp_path_factory.mktemp("shots"))
    folder.mkdir(parents=True, exist_ok=True)
    return folder
