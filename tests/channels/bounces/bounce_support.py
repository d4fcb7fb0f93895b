"""Shared by the bounces tests: the sample corpus and the VERP set-up it was written with."""

from __future__ import annotations

from pathlib import Path

from channels.bounces.verp import Verp

SAMPLES = Path(__file__).parent / "samples"
# The sample bounces' VERP addresses were made with this secret and domain.
SAMPLE_SECRET = "salonpost-test-samples"
SAMPLE_DOMAIN = "bounces.salonpost.example"


def sample_verp() -> Verp:
    return Verp(secret_key=SAMPLE_SECRET, domain=SAMPLE_DOMAIN)


def sample(name: str) -> bytes:
    """The raw bytes of ``samples/<family>/<file>``."""
    return (SAMPLES / name).read_bytes()
