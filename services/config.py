"""What the use cases need from the deployment, built once by each edge from its settings.

The use-case layer never reads settings itself (``settings.py`` is the edges' business): the
CLI and the web app each build one :class:`ServiceConfig` at start-up and pass it down.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class ServiceConfig:
    """``base_url``: the web app's public URL (unsubscribe links); ``secret_key``: signs them
    and keys the hashes of forgotten suppressed addresses."""

    base_url: str
    secret_key: str
