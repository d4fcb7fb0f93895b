"""Development only, until the first release: rebuild revision 0001 from the models.

Once a database outside development runs 0001, schema changes get new revisions instead
(``alembic revision --autogenerate``) and this script is deleted.
"""

from __future__ import annotations

import re
import tempfile
from pathlib import Path

from alembic import command

from db.migrate import MIGRATIONS, alembic_config


def main() -> None:
    target = MIGRATIONS / "versions" / "0001_initial_schema.py"
    target.unlink(missing_ok=True)
    with tempfile.TemporaryDirectory() as scratch:
        config = alembic_config(f"sqlite:///{Path(scratch) / 'empty.db'}")
        command.revision(config, message="initial schema", autogenerate=True, rev_id="0001")
    source = target.read_text()
    source = source.replace("db.models.UTCDateTime()", "sa.DateTime()")
    source = re.sub(r"Create Date: .*\n", "", source)
    target.write_text(source)
    print(f"rewrote {target}")


if __name__ == "__main__":
    main()
