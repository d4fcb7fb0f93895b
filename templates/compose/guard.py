"""Carry Jinja tags unharmed through tools that know nothing of them (Markdown, MJML, nh3).

Each ``{{ ... }}``, ``{% ... %}`` and ``{# ... #}`` is swapped for an opaque token of letters
and digits before the tool runs and swapped back after it, so a placeholder survives into the
composed template exactly as staff wrote it (and R1/R2 then check it like any other).
"""

from __future__ import annotations

import re
import secrets

from ..errors import TemplateError

_TAG = re.compile(r"\{\{.*?\}\}|\{%.*?%\}|\{#.*?#\}", re.DOTALL)
# A "{" that the tool's own output puts before "{", "%" or "#" (minified CSS, say) would start
# a Jinja tag; printed as a Jinja literal instead.
_STRAY_OPENING = re.compile(r"\{(?=[{%#])")


class JinjaGuard:
    """Swaps Jinja tags for tokens (:meth:`protect`) and back (:meth:`restore`)."""

    def __init__(self) -> None:
        self._prefix = f"jx{secrets.token_hex(4)}t"
        self._tags: dict[str, str] = {}

    def protect(self, source: str) -> str:
        """``source`` with every Jinja tag replaced by a token."""

        def swap(match: re.Match[str]) -> str:
            token = f"{self._prefix}{len(self._tags)}z"
            self._tags[token] = match.group(0)
            return token

        return _TAG.sub(swap, source)

    def missing(self, output: str) -> list[str]:
        """The tags whose token the tool dropped from ``output``."""
        return [tag for token, tag in self._tags.items() if token not in output]

    def restore(self, output: str, *, required: bool = True) -> str:
        """The tool's ``output`` with the tags back; a tag the tool dropped is an error when
        ``required`` (it would change what the template means)."""
        output = _STRAY_OPENING.sub("{{ '{' }}", output)
        for token, tag in self._tags.items():
            if token not in output:
                if required:
                    raise TemplateError(
                        f"the template tag {tag[:40]!r} cannot stand where it is (inside an "
                        "HTML tag or a removed element); move it into the text",
                        code="tag_removed",
                    )
                continue
            output = output.replace(token, tag)
        return output
