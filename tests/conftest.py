"""Shared fixtures. Tests run offline (HF_HUB_OFFLINE=1) on the bundled sample domain;
slow tests train real (tiny) models under a real local Ray and KFP's local runner."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("HF_DATASETS_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")
os.environ.setdefault("RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER", "0")
sys.path.insert(0, str(Path(__file__).parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from nuri_testing import SHARED, TINY_OVERRIDES, write_domain  # noqa: E402


@pytest.fixture
def tiny_domain(tmp_path) -> Path:
    return write_domain(tmp_path, TINY_OVERRIDES)


@pytest.fixture(scope="session")
def shared_samples() -> Path:
    path = SHARED / "samples"
    if not path.is_dir():
        pytest.skip(f"{path} is absent (the shared Korean sample texts)")
    return path
