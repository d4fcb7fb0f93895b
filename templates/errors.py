"""Errors raised by the template package.

One root, so callers can catch everything template-related in one place::

    TemplateError                 root; carries ``code`` and ``line``
    └── TemplateRenderError       a template could not be compiled or rendered safely

``code`` is a short reason code (``syntax_error``, ``unknown_placeholder``, ``unsafe``,
``too_large``, ``too_slow``, ``render_failed``; for R10 ``bad_sender``, ``no_postal_address``,
``footer_hidden``; for composing ``bad_markdown``, ``bad_block``, ``bad_brand``) that reports
and logs show next to the rule id.
"""

from __future__ import annotations


class TemplateError(Exception):
    """Root of every error raised by :mod:`templates`."""

    def __init__(self, message: str, *, code: str = "render_failed", line: int | None = None):
        super().__init__(message)
        self.message = message
        self.code = code
        self.line = line


class TemplateRenderError(TemplateError):
    """A template failed to compile or render inside the sandbox."""
