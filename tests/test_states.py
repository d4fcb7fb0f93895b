"""States are named once (db/states.py): no campaign or delivery status, and no campaign kind,
is written as a bare string anywhere else in the packages (migrations keep their history)."""

from __future__ import annotations

import ast
from pathlib import Path

from db.models import Campaign, ConsentEvent, Delivery
from db.states import CampaignKind, CampaignStatus, DeliveryStatus, constraint

ROOT = Path(__file__).resolve().parents[1]
# channels/ speak the providers' words (a receipt's status is what the provider said).
PACKAGES = ("cli", "web", "bench", "services", "dispatcher", "gate", "templates", "db")
NAMED_ONCE = {str(v) for enum in (CampaignStatus, DeliveryStatus, CampaignKind) for v in enum}


def _modules() -> list[Path]:
    found = [ROOT / "settings.py"]
    for package in PACKAGES:
        found += [
            p
            for p in (ROOT / package).rglob("*.py")
            if "migrations" not in p.parts and p != ROOT / "db" / "states.py"
        ]
    return found


STATE_NAMES = {"status", "kind", "_status"}


def _constants(node: ast.AST | None) -> list[ast.Constant]:
    """The string constants of an expression and of the tuples, lists and sets in it."""
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return [node]
    if isinstance(node, ast.Tuple | ast.List | ast.Set):
        return [c for element in node.elts for c in _constants(element)]
    return []


def _state_uses(node: ast.AST) -> list[ast.Constant]:
    """Where a state is compared, stored or queried: ``x.status == "..."``, ``status="..."``,
    ``{"status": "..."}``, ``x.status = "..."``, ``.in_((...))``, ``literal("...")``."""
    if isinstance(node, ast.Compare):
        return [c for side in (node.left, *node.comparators) for c in _constants(side)]
    if isinstance(node, ast.keyword) and node.arg in STATE_NAMES:
        return _constants(node.value)
    if isinstance(node, ast.Dict):
        keys = [k.value if isinstance(k, ast.Constant) else None for k in node.keys]
        return [
            c
            for k, v in zip(keys, node.values, strict=True)
            if k in STATE_NAMES
            for c in _constants(v)
        ]
    if isinstance(node, ast.Assign):
        named = any(getattr(t, "attr", getattr(t, "id", None)) in STATE_NAMES for t in node.targets)
        return _constants(node.value) if named else []
    if isinstance(node, ast.Call) and getattr(node.func, "attr", getattr(node.func, "id", "")) in (
        "in_",
        "not_in",
        "literal",
        "filter_by",
    ):
        return [c for arg in node.args for c in _constants(arg)]
    return []


def _status_literals(path: Path) -> list[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    return [
        f"{path.relative_to(ROOT)}:{c.lineno}: {c.value!r}"
        for node in ast.walk(tree)
        for c in _state_uses(node)
        if c.value in NAMED_ONCE
    ]


def test_no_status_literal_outside_the_enum_module() -> None:
    found = [hit for path in _modules() for hit in _status_literals(path)]
    assert found == [], "use the enums of db/states.py:\n" + "\n".join(found)


def test_the_scan_finds_each_kind_of_use(tmp_path: Path) -> None:
    sample = tmp_path / "sample.py"
    sample.write_text(
        'if campaign.status == "sending": pass\n'
        'update(Delivery).values(status="pending")\n'
        'rows = {"status": "sent"}\n'
        'campaign.status = "done"\n'
        'query.where(Delivery.status.in_(("failed", "unknown")))\n'
        'counts.get("done")  # a document key: not a state use\n'
    )
    tree = ast.parse(sample.read_text())
    found = [c.value for node in ast.walk(tree) for c in _state_uses(node) if c.value in NAMED_ONCE]
    assert sorted(found) == ["done", "failed", "pending", "sending", "sent", "unknown"]


def test_the_check_constraints_come_from_the_enums() -> None:
    def checks(table: object) -> set[str]:
        return {
            str(c.sqltext) for c in table.constraints if c.__class__.__name__ == "CheckConstraint"
        }  # type: ignore[attr-defined]

    assert constraint("status", CampaignStatus) in checks(Campaign.__table__)
    assert constraint("kind", CampaignKind) in checks(Campaign.__table__)
    assert constraint("status", DeliveryStatus) in checks(Delivery.__table__)
    # The texts the migrations created (0001): the enums' order must not change them.
    assert "status IN ('draft', 'queued', 'sending', 'paused', 'cancelled', 'done')" in checks(
        Campaign.__table__
    )
    assert "party IN ('client', 'guardian')" in checks(ConsentEvent.__table__)
