"""Look-ups scoped to one salon: another salon's salon, client, campaign or staff member is
"not found", exactly like one that does not exist (:class:`services.errors.NotFound`)."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from db.models import Campaign, Client, Salon
from db.states import CampaignKind
from services.errors import NotFound


def get_salon(session: Session, slug: str) -> Salon:
    salon = session.scalar(select(Salon).where(Salon.slug == slug))
    if salon is None:
        raise NotFound(f"salon {slug!r}")
    return salon


def get_client(session: Session, salon: Salon, ref: str) -> Client:
    client = session.scalar(select(Client).where(Client.salon_id == salon.id, Client.ref == ref))
    if client is None:
        raise NotFound(f"client {ref!r} in salon {salon.slug!r}")
    return client


def client_by_id(session: Session, salon: Salon, client_id: int) -> Client:
    """The client with ``client_id`` of this salon (the staff pages' look-up)."""
    client = session.get(Client, client_id)
    if client is None or client.salon_id != salon.id:
        raise NotFound(f"client {client_id} in salon {salon.slug!r}")
    return client


def get_campaign(
    session: Session, campaign_id: int, *, salon_id: int | None = None, lock: bool = False
) -> Campaign:
    """A marketing campaign (of ``salon_id`` when given).

    A service message is stored as a campaign of kind ``transactional``, but it is not a
    campaign to staff: every campaign use case answers "not found" for it, on every edge.
    """
    campaign = session.get(
        Campaign, campaign_id, with_for_update=True if lock else None, populate_existing=lock
    )
    if (
        campaign is None
        or campaign.kind != CampaignKind.MARKETING
        or (salon_id is not None and campaign.salon_id != salon_id)
    ):
        raise NotFound(f"campaign {campaign_id}")
    return campaign


def salon_of_campaign(session: Session, campaign_id: int) -> Salon:
    """The salon a campaign belongs to (the CLI signs staff in for that salon)."""
    return session.get_one(Salon, get_campaign(session, campaign_id).salon_id)
