"""Staff commands in-process: PINs, C3, one access-log row per action, no PII in logs."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest
from rights_support import PIN, run
from sqlalchemy import select
from sqlalchemy.orm import Session
from typer.testing import CliRunner

from db.models import AccessLog, Client, ConsentEvent, Salon, Staff

AS_MIA = ("--staff", "Mia", "--pin", PIN)
SMS = "Hallo {{ first_name }}! Abmelden: {{ unsubscribe_url }}"


def _create(cli: CliRunner, ref: str = "N1", *extra: str, ok: bool = True) -> object:
    return run(
        cli, "client", "create", ref, "--salon", "anna", "--first-name", "Greta",
        "--phone", "0176 55555555", "--email", "greta@example.com",
        "--sms-consent", "oral", "--email-consent", "not-asked", *extra, *AS_MIA, ok=ok,
    )  # fmt: skip


def _log(session: Session) -> list[tuple[str, int | None]]:
    session.expire_all()
    rows = session.scalars(select(AccessLog).order_by(AccessLog.id)).all()
    return [(r.action, r.staff_id) for r in rows]


def test_creating_a_client_records_the_consent_answers(
    cli: CliRunner, session: Session, salon: Salon, staff: Staff
) -> None:
    _create(cli, "N1", "--email-consent", "declined")
    client = session.scalars(select(Client).where(Client.ref == "N1")).one()
    assert client.phone_e164 == "+4917655555555"
    events = session.scalars(select(ConsentEvent).order_by(ConsentEvent.channel)).all()
    assert [(e.channel, e.action, e.source, e.staff_id) for e in events] == [
        ("email", "withdrawn", "oral", staff.id),
        ("sms", "granted", "oral", staff.id),
    ]
    [entry] = session.scalars(select(AccessLog)).all()
    assert (entry.action, entry.detail) == ("client.create", "sms=oral email=declined")


def test_a_form_answer_needs_the_form_reference(
    cli: CliRunner, session: Session, salon: Salon, staff: Staff
) -> None:
    refused = _create(cli, "N1", "--sms-consent", "form", ok=False)
    assert refused.exit_code == 1 and "form reference" in refused.stderr
    _create(cli, "N2", "--sms-consent", "form", "--form-ref", "F-17")
    event = session.scalars(select(ConsentEvent)).one()
    assert (event.source, event.evidence) == ("form", "F-17")


def test_every_action_leaves_exactly_one_access_log_row(
    cli: CliRunner, session: Session, salon: Salon, staff: Staff, tmp_path: Path
) -> None:
    sms = tmp_path / "sms.txt"
    sms.write_text(SMS)
    reminder = tmp_path / "reminder.txt"
    reminder.write_text("Bis morgen, {{ first_name }}!")
    clients = tmp_path / "clients.csv"
    clients.write_text(
        "ref,first_name,last_name,phone,email,birth_date,guardian_name,guardian_phone,"
        "guardian_email,created_at,imported_at,sms_marketing,email_marketing,guardian_consent\n"
        "K1,Anna,Berg,0176 11111111,anna@example.com,1990-05-01,,,,2022-03-01,,granted,,\n"
    )
    visits = tmp_path / "visits.csv"
    visits.write_text("client_ref,visited_at,amount\nK1,2025-01-10T10:00:00,45.00\n")
    salon_ = ("--salon", "anna")
    steps = [
        (("clients", "import", str(clients), *salon_), "clients.import"),
        (("visits", "import", str(visits), *salon_), "visits.import"),
        (("client", "show", "K1", *salon_), "client.show"),
        (("consent", "record", "K1", *salon_, "--channel", "sms", "--withdraw"), "consent.record"),
        (("campaign", "create", *salon_, "--name", "Herbst", "--sms", str(sms)), "campaign.create"),
        (("campaign", "validate", "1"), "campaign.validate"),
        (("campaign", "audience", "1"), "campaign.audience"),
        (("campaign", "queue", "1"), "campaign.queue"),
        (("client", "no-reminders", "K1", *salon_, "--off"), "client.no_reminders"),
        (("message", "send", "K1", *salon_, "--kind", "reminder", "--template", str(reminder)),
         "message.send"),
        (("client", "export", "K1", *salon_), "client.export"),
        (("client", "forget", "K1", *salon_), "client.forget"),
        (("client", "create", "N1", *salon_, "--sms-consent", "not-asked",
          "--email-consent", "not-asked"), "client.create"),
    ]  # fmt: skip
    for args, action in steps:
        before = _log(session)
        run(cli, *args, *AS_MIA)
        assert _log(session) == [*before, (action, staff.id)], args


def test_without_a_staff_member_older_commands_act_as_the_operator(
    cli: CliRunner, session: Session, salon: Salon, history: dict[str, Client]
) -> None:
    run(cli, "client", "show", "K1", "--salon", "anna")
    [entry] = session.scalars(select(AccessLog)).all()
    assert (entry.staff_id, entry.actor, entry.action) == (None, "operator", "client.show")
    refused = run(cli, "client", "forget", "K1", "--salon", "anna", ok=False)
    assert refused.exit_code == 1 and "--staff NAME" in refused.stderr


@pytest.mark.parametrize("pin", ["", "12"])
def test_an_empty_or_malformed_pin_is_a_clear_error_and_changes_nothing(
    cli: CliRunner,
    session: Session,
    salon: Salon,
    staff: Staff,
    history: dict[str, Client],
    pin: str,
) -> None:
    refused = run(
        cli, "client", "forget", "K1", "--salon", "anna", "--staff", "Mia", "--pin", pin, ok=False
    )
    assert refused.exit_code == 1 and "PIN" in refused.stderr
    session.expire_all()
    assert session.get_one(Client, history["anna"].id).anonymised_at is None
    assert session.get_one(Staff, staff.id).failed_pins == 0
    assert _log(session) == []


def test_a_wrong_pin_is_refused_and_counted(
    cli: CliRunner, session: Session, salon: Salon, staff: Staff, history: dict[str, Client]
) -> None:
    refused = run(cli, "client", "show", "K1", "--salon", "anna", "--staff", "Mia", "--pin",
                  "9999", ok=False)  # fmt: skip
    assert (
        refused.exit_code == 1
        and "wrong PIN" in refused.stderr
        and "Vorname1" not in refused.stdout
    )
    session.expire_all()
    assert session.get_one(Staff, staff.id).failed_pins == 1 and _log(session) == []


def test_forgetting_an_unknown_client_is_a_clear_error(
    cli: CliRunner, session: Session, salon: Salon, staff: Staff, history: dict[str, Client]
) -> None:
    refused = run(cli, "client", "forget", "K99", "--salon", "anna", *AS_MIA, ok=False)
    assert refused.exit_code == 1 and "K99" in refused.stderr
    session.expire_all()
    assert session.scalars(select(Client.anonymised_at)).all() == [None, None]
    assert _log(session) == []


def test_the_access_log_lists_who_did_what(
    cli: CliRunner, session: Session, salon: Salon, staff: Staff, history: dict[str, Client]
) -> None:
    run(cli, "client", "show", "K1", "--salon", "anna", *AS_MIA)
    run(cli, "client", "show", "K2", "--salon", "anna")
    import json

    listed = json.loads(run(cli, "access-log", "--salon", "anna", "--json").stdout)["entries"]
    assert [(e["staff"], e["client"]) for e in listed] == [("operator", "K2"), ("Mia", "K1")]
    only_mia = run(cli, "access-log", "--salon", "anna", "--staff", "Mia", "--json").stdout
    assert [e["client"] for e in json.loads(only_mia)["entries"]] == ["K1"]


def test_no_pin_phone_or_email_reaches_the_logs(
    cli: CliRunner,
    session: Session,
    salon: Salon,
    staff: Staff,
    history: dict[str, Client],
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    _create(cli, "N1")
    run(
        cli, "consent", "record", "K1", "--salon", "anna", "--channel", "sms", "--withdraw", *AS_MIA
    )
    run(cli, "client", "export", "K1", "--salon", "anna", *AS_MIA)
    run(cli, "client", "forget", "K1", "--salon", "anna", *AS_MIA)
    run(cli, "client", "show", "K2", "--salon", "anna", "--staff", "Mia", "--pin", "0000", ok=False)
    secrets = [PIN, "0000", "55555555", "greta@example.com", "kundin1@example.com",
               "+4917610000001", "10000001"]  # fmt: skip
    assert caplog.records, "nothing was logged at all: the test would prove nothing"
    for record in caplog.records:
        logged = record.getMessage() + repr(record.args) + repr(record.__dict__.get("exc_text"))
        for secret in secrets:
            assert secret not in logged, (secret, record.name)


def test_staff_pin_alone_identifies_the_staff_member(
    cli: CliRunner, session: Session, salon: Salon, staff: Staff
) -> None:
    """The issue's contract: ``--staff PIN``."""
    run(
        cli, "client", "create", "N9", "--salon", "anna", "--first-name", "Ida",
        "--sms-consent", "not-asked", "--email-consent", "not-asked", "--staff", PIN,
    )  # fmt: skip
    run(cli, "consent", "record", "N9", "--salon", "anna", "--channel", "sms", "--grant",
        "--source", "oral", "--staff", PIN)  # fmt: skip
    assert _log(session) == [("client.create", staff.id), ("consent.record", staff.id)]
    wrong = run(cli, "client", "show", "N9", "--salon", "anna", "--staff", "9999", ok=False)
    assert wrong.exit_code != 0


def test_pausing_and_cancelling_a_campaign_are_logged_once_each(
    cli: CliRunner, session: Session, salon: Salon, staff: Staff, tmp_path: Path
) -> None:
    from db.models import Campaign

    sms = tmp_path / "sms.txt"
    sms.write_text(SMS)
    run(
        cli, "campaign", "create", "--salon", "anna", "--name", "Herbst", "--sms", str(sms), *AS_MIA
    )
    session.execute(Campaign.__table__.update().values(status="sending"))
    session.commit()
    for command, action in [("pause", "campaign.pause"), ("cancel", "campaign.cancel")]:
        before = _log(session)
        run(cli, "campaign", command, "1", *AS_MIA)
        assert _log(session) == [*before, (action, staff.id)], command
    session.expire_all()
    assert session.get_one(Campaign, 1).status == "cancelled"


def _lock(cli: CliRunner) -> None:
    for _ in range(5):
        run(cli, "client", "show", "K1", "--salon", "anna", "--staff", "Mia", "--pin", "9999",
            ok=False)  # fmt: skip
    locked = run(cli, "client", "show", "K1", "--salon", "anna", *AS_MIA, ok=False)
    assert locked.exit_code == 1 and "locked until" in locked.stderr


def test_the_operator_unlocks_a_locked_staff_member_and_it_is_logged(
    cli: CliRunner, session: Session, salon: Salon, staff: Staff, history: dict[str, Client]
) -> None:
    _lock(cli)
    done = run(cli, "staff", "unlock", "Mia", "--salon", "anna")
    assert "unlocked" in done.stdout
    assert run(cli, "client", "show", "K1", "--salon", "anna", *AS_MIA).exit_code == 0
    session.expire_all()
    member = session.get_one(Staff, staff.id)
    # The lock-out count stays until the correct PIN, which the show above was.
    assert (member.locked_until, member.failed_pins, member.lockouts) == (None, 0, 0)
    assert _log(session) == [("staff.unlock", None), ("client.show", staff.id)]


def test_a_new_pin_replaces_a_forgotten_one_and_must_be_free_in_the_salon(
    cli: CliRunner, session: Session, salon: Salon, staff: Staff, history: dict[str, Client]
) -> None:
    _lock(cli)
    run(cli, "staff", "add", "Ole", "--salon", "anna", "--pin", "5151")
    taken = run(cli, "staff", "reset-pin", "Mia", "--salon", "anna", "--pin", "5151", ok=False)
    assert taken.exit_code == 1 and "another staff member" in taken.stderr
    run(cli, "staff", "reset-pin", "Mia", "--salon", "anna", "--pin", "2468")
    assert run(cli, "client", "show", "K1", "--salon", "anna", *AS_MIA, ok=False).exit_code == 1
    shown = run(cli, "client", "show", "K1", "--salon", "anna", "--staff", "Mia", "--pin", "2468")
    assert shown.exit_code == 0
    session.expire_all()
    actions = [action for action, _ in _log(session)]
    assert actions == ["staff.add", "staff.pin_reset", "client.show"]


def test_unlocking_an_unknown_staff_member_is_a_clear_error(
    cli: CliRunner, session: Session, salon: Salon, staff: Staff
) -> None:
    refused = run(cli, "staff", "unlock", "Nobody", "--salon", "anna", ok=False)
    assert refused.exit_code == 1 and "Nobody" in refused.stderr
    assert _log(session) == []
