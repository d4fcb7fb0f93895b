"""Fixtures for the bounces package."""

from __future__ import annotations

import pytest
from bounce_support import sample_verp

from channels.bounces.verp import Verp


@pytest.fixture
def verp() -> Verp:
    """The VERP codec the sample corpus was written with."""
    return sample_verp()
