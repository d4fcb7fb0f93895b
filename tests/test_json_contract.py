"""The ``--json`` documents are a contract: their types name the README's keys, and what the
command prints has exactly those keys."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from dispatcher.control import Progress
from dispatcher.queues import QueuesDocument
from services.clients import ClientDocument, ConsentEntry
from services.documents import AudienceDocument, ExcludedRow, StatusDocument, ValidationDocument
from services.staff import AccessEntry, AccessLogDocument
from settings import get_settings

ROOT = Path(__file__).resolve().parents[1]
TYPES: dict[str, Any] = {
    "campaign validate": ValidationDocument,
    "campaign audience": AudienceDocument,
    "campaign audience excluded[]": ExcludedRow,
    "campaign status": StatusDocument,
    "campaign status progress": Progress,
    "client show": ClientDocument,
    "client show consent_history[]": ConsentEntry,
    "access-log": AccessLogDocument,
    "access-log entries[]": AccessEntry,
    "queues": QueuesDocument,
}


def readme_contract() -> dict[str, list[str]]:
    """document -> keys, from the README's table of ``--json`` documents."""
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    section = readme.split("### The `--json` documents", 1)[1].split("\n\n", 3)[2]
    rows: dict[str, list[str]] = {}
    for line in section.splitlines()[2:]:
        document, keys = (cell.strip() for cell in line.strip("|").split("|"))
        rows[document.replace("`", "")] = re.findall(r"`([^`]+)`", keys)
    return rows


def _keys(kind: Any) -> set[str]:
    return set(kind.__required_keys__) | set(kind.__optional_keys__)


def test_the_readme_lists_every_document_with_its_typed_keys() -> None:
    contract = readme_contract()
    assert set(contract) == set(TYPES)
    for document, kind in TYPES.items():
        listed = [k for k in contract[document] if not k.startswith("--")]
        assert set(listed) == _keys(kind), document


@pytest.fixture
def salonpost(database_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    monkeypatch.setenv("SALONPOST_DATABASE_URL", database_url)
    monkeypatch.setenv("SALONPOST_OUTBOX_DIR", str(tmp_path / "outbox"))
    for name in (
        "SALONPOST_REDIS_URL",
        "SALONPOST_STAFF",
        "SALONPOST_STAFF_PIN",
        "SALONPOST_LANGUAGE",
    ):
        monkeypatch.delenv(name, raising=False)
    get_settings.cache_clear()
    import cli

    runner = CliRunner()

    def run(*args: str) -> Any:
        result = runner.invoke(cli.app, list(args), catch_exceptions=False)
        assert result.exit_code in (0, 1), result.output
        return json.loads(result.stdout) if "--json" in args else result.stdout

    yield run
    get_settings.cache_clear()


def test_what_the_commands_print_has_the_contract_keys(salonpost: Any, tmp_path: Path) -> None:
    salonpost("salon", "create", "anna", "--name", "Salon Anna")
    sms = tmp_path / "sms.txt"
    sms.write_text("Hallo {{ first_name }} {{ unsubscribe_url }}", encoding="utf-8")
    campaign = salonpost("campaign", "create", "--salon", "anna", "--name", "H", "--sms", str(sms))
    cid = campaign.strip()
    assert set(salonpost("campaign", "validate", cid, "--json")) == _keys(ValidationDocument)
    audience = salonpost("campaign", "audience", cid, "--json", "--detail")
    assert set(audience) == _keys(AudienceDocument)
    status = salonpost("campaign", "status", cid, "--json")
    assert set(status) == _keys(StatusDocument) and set(status["progress"]) == _keys(Progress)
    log = salonpost("access-log", "--salon", "anna", "--json")
    assert set(log) == _keys(AccessLogDocument) and log["entries"]
    assert set(log["entries"][0]) == _keys(AccessEntry)
    assert set(salonpost("queues", "--json")) == _keys(QueuesDocument)
