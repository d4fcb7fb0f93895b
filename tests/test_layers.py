"""The layers hold: import-linter's contracts (pyproject.toml) are kept, and they would break.

The second test copies the packages into a temporary folder, adds a module under ``db/`` that
imports ``web`` and shows that ``lint-imports`` then fails, naming the contract and the import.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("cli", "web", "bench", "services", "dispatcher", "gate", "templates", "channels", "db")
LINT_IMPORTS = Path(sys.executable).parent / "lint-imports"


def _lint_imports(cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(LINT_IMPORTS), "--no-cache"], cwd=cwd, capture_output=True, text=True, timeout=300
    )


def test_every_import_contract_is_kept() -> None:
    done = _lint_imports(ROOT)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "0 broken" in done.stdout


def test_the_contracts_fail_when_db_imports_web(tmp_path: Path) -> None:
    for package in PACKAGES:
        shutil.copytree(ROOT / package, tmp_path / package, ignore=shutil.ignore_patterns("*.pyc"))
    shutil.copy(ROOT / "settings.py", tmp_path / "settings.py")
    shutil.copy(ROOT / "pyproject.toml", tmp_path / "pyproject.toml")
    (tmp_path / "db" / "leak.py").write_text('"""A wrong import."""\n\nimport web.app  # noqa\n')
    done = _lint_imports(tmp_path)
    assert done.returncode != 0, done.stdout
    assert "Dependencies point down: edges, use cases, the middle, db BROKEN" in done.stdout
    assert "db is the bottom: it imports no other Salonpost package BROKEN" in done.stdout
    assert "db is not allowed to import web:" in done.stdout
    assert "db.leak -> web.app" in done.stdout
