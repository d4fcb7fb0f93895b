"""Resource limits for sandboxed rendering.

Jinja's sandbox stops attribute escapes but bounds neither CPU nor memory: ``{{ 'a' * 10**9 }}``
or a doubling ``~`` chain would happily allocate gigabytes inside a send worker. The checks here
refuse an operation *before* it allocates whenever the result size can be predicted from the
operands, and check the result otherwise, so every intermediate value stays near ``MAX_SIZE``.

A render-wide wall-clock deadline lives in a context variable: the hooks below run often
(every call, intercepted operator, filter and loop step), so a runaway loop is stopped even
when it produces no output. The hard guarantee at validation time is the separate process in
:func:`templates.sandbox.trial_render`; these checks are the in-process defence for sending.
"""

from __future__ import annotations

import contextvars
import functools
import time
from collections.abc import Callable, Iterable, Iterator, Mapping
from typing import Any

from .errors import TemplateRenderError

#: largest string (characters) or sequence (items plus string characters) a template may build
MAX_SIZE = 100_000
#: largest integer a template may build; salon messages need prices, not cryptography, and a
#: small cap keeps integer arithmetic (and ``str()`` of the result) constant-time
MAX_INT_BITS = 64
#: how many loop steps run between two deadline checks (a clock read per step is wasteful)
_STEPS_PER_CHECK = 256

_deadline: contextvars.ContextVar[float | None] = contextvars.ContextVar(
    "templates_render_deadline", default=None
)


def set_deadline(deadline: float | None) -> contextvars.Token[float | None]:
    """Start a render-wide deadline (``time.monotonic()`` based); reset with the token."""
    return _deadline.set(deadline)


def reset_deadline(token: contextvars.Token[float | None]) -> None:
    """Restore the deadline in force before :func:`set_deadline`."""
    _deadline.reset(token)


def check_time() -> None:
    """Raise ``too_slow`` once the current render has run past its deadline."""
    deadline = _deadline.get()
    if deadline is not None and time.monotonic() > deadline:
        raise TemplateRenderError("template took too long to render", code="too_slow")


def _too_large(what: str) -> TemplateRenderError:
    return TemplateRenderError(f"template builds a {what} that is too large", code="too_large")


def measure(value: object) -> int:
    """Rough size of a value in characters/items; 0 for values that cannot grow."""
    if isinstance(value, str):
        return len(value)
    if isinstance(value, list | tuple):
        return len(value) + sum(len(item) for item in value if isinstance(item, str))
    return 0


def check_value(value: object) -> None:
    """Refuse a value that is already too large to keep working with."""
    if measure(value) > MAX_SIZE:
        raise _too_large("text or list")
    if isinstance(value, int) and value.bit_length() > MAX_INT_BITS:
        raise _too_large("number")


def check_arguments(args: Iterable[object], kwargs: Mapping[str, object]) -> None:
    """Refuse call arguments that would make any sane string/sequence method explode.

    An integer argument above ``MAX_SIZE`` is only ever a width or count (``ljust``,
    ``center``, ``batch``), and no message needs one that large.
    """
    for value in (*args, *kwargs.values()):
        check_value(value)
        if isinstance(value, int) and not isinstance(value, bool) and abs(value) > MAX_SIZE:
            raise _too_large("width or count")


def check_binop(operator: str, left: Any, right: Any) -> None:
    """Predict the size of ``left <operator> right`` and refuse it before Python allocates."""
    check_time()
    if operator == "**":
        _check_power(left, right)
    elif operator == "*":
        _check_repeat(left, right)
    elif operator == "%" and isinstance(left, str):
        # printf-style widths ("%0999999999d") allocate inside C code we cannot bound.
        raise TemplateRenderError("string formatting with % is not allowed", code="unsafe")


def _is_int(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _check_power(base: Any, exponent: Any) -> None:
    if not (_is_int(base) and _is_int(exponent)) or exponent <= 0 or abs(base) <= 1:
        return  # floats overflow cheaply with an error; 0, 1 and -1 stay small
    # A lower bound of the result's size: refuse early what must be too large; check_value
    # catches the rest afterwards, when the result is at most about twice the cap.
    if exponent * (abs(base).bit_length() - 1) > MAX_INT_BITS:
        raise _too_large("number")


def _check_repeat(left: Any, right: Any) -> None:
    if _is_int(left) and _is_int(right):
        if left.bit_length() + right.bit_length() > MAX_INT_BITS:
            raise _too_large("number")
        return
    count, sequence = (left, right) if _is_int(left) else (right, left)
    if _is_int(count) and count * measure(sequence) > MAX_SIZE:
        raise _too_large("text or list")


def guard_iteration(value: Any) -> Iterator[Any]:
    """Wrap a ``{% for %}`` iterable so long loops notice the deadline."""
    for step, item in enumerate(value):
        if step % _STEPS_PER_CHECK == 0:
            check_time()
        yield item


def guard_size(value: Any) -> Any:
    """Check the result of a ``~`` concatenation."""
    check_value(value)
    return value


Filter = Callable[..., Any]


def guarded_filter(original: Filter) -> Filter:
    """Wrap a built-in filter with argument, result and deadline checks.

    ``functools.wraps`` copies ``jinja_pass_arg`` so Jinja still passes the context.
    """

    @functools.wraps(original)
    def guarded(*args: Any, **kwargs: Any) -> Any:
        check_time()
        check_arguments(args, kwargs)
        result = original(*args, **kwargs)
        check_value(result)
        return result

    return guarded


def safe_replace(original: Filter) -> Filter:
    """``replace`` multiplies sizes (every match grows by ``len(new)``): predict the result."""

    @functools.wraps(original)
    def replace(eval_ctx: Any, s: Any, old: Any, new: Any, count: int | None = None) -> Any:
        text, old_s, new_s = str(s), str(old), str(new)
        matches = text.count(old_s) if old_s else len(text) + 1
        if count is not None and count >= 0:
            matches = min(matches, count)
        if len(text) + matches * len(new_s) > MAX_SIZE:
            raise _too_large("text")
        return original(eval_ctx, s, old, new, count)

    return replace


def safe_join(original: Filter) -> Filter:
    """``join`` repeats the separator once per item: predict the result."""

    @functools.wraps(original)
    def join(eval_ctx: Any, value: Any, d: str = "", attribute: Any = None) -> Any:
        items = list(guard_iteration(value))
        if measure(items) + len(str(d)) * len(items) > MAX_SIZE:
            raise _too_large("text")
        return original(eval_ctx, items, d, attribute)

    return join
