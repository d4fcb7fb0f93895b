"""Salonpost data: models, sessions and migrations."""

from db.models import (
    AccessLog,
    Base,
    Campaign,
    Client,
    ConsentEvent,
    Delivery,
    Exclusion,
    Salon,
    Staff,
    Suppression,
    Visit,
    utcnow,
)
from db.session import get_engine, session_factory, session_scope

__all__ = [
    "AccessLog",
    "Base",
    "Campaign",
    "Client",
    "ConsentEvent",
    "Delivery",
    "Exclusion",
    "Salon",
    "Staff",
    "Suppression",
    "Visit",
    "get_engine",
    "session_factory",
    "session_scope",
    "utcnow",
]
