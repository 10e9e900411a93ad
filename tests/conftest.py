from __future__ import annotations

from pathlib import Path

import pytest

from sqlgen.config import GeneratorConfig, load_config, with_overrides

ROOT = Path(__file__).resolve().parents[1]
TINY = ROOT / "configs" / "tiny.yaml"


@pytest.fixture
def tiny(tmp_path: Path) -> GeneratorConfig:
    """The tiny test config writing into a fresh temporary out_dir."""
    return with_overrides(load_config(TINY), out_dir=tmp_path / "out")
