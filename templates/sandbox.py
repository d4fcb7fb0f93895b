"""The sandboxed render environment for campaign templates (rule R2).

* ``ImmutableSandboxedEnvironment`` with ``StrictUndefined``: no attribute escapes, no mutation
  of lists/dicts, and an unknown placeholder raises instead of rendering as an empty string.
* No loader, so ``include``/``extends``/``import`` cannot reach any other template or file.
* Autoescape only for HTML bodies; SMS, plain text and subjects are not HTML.
* Resource limits (see :mod:`templates.limits`): operators, calls, filters, loops and ``~`` are
  checked in-process; output is streamed and stopped at ``max_chars`` or the deadline.
* :func:`trial_render` renders the sample context in a forked child with an address-space limit
  and a hard timeout, so validation survives templates that no in-process check can stop.
"""

from __future__ import annotations

import functools
import multiprocessing
import os
import resource
import time
import traceback
from collections.abc import Generator, Iterator, Mapping, Sequence
from multiprocessing.connection import Connection
from typing import Any

from jinja2 import StrictUndefined, Template, TemplateSyntaxError, UndefinedError, nodes
from jinja2.exceptions import SecurityError
from jinja2.runtime import Context
from jinja2.sandbox import ImmutableSandboxedEnvironment
from markupsafe import escape

from . import limits
from .catalogue import sample_context
from .errors import TemplateError, TemplateRenderError
from .problems import TemplateProblem

# Above the largest source allowed (templates.sizes: 200,000 for email HTML) plus what the
# placeholders and the compliance footer add.
DEFAULT_MAX_CHARS = 300_000
DEFAULT_DEADLINE_S = 2.0

# Internal filter names the tree rewrite inserts; the leading underscore keeps them out of
# the way of staff, and they are harmless even if typed on purpose.
_ITERATION_GUARD = "_salonpost_iteration_guard"
_SIZE_GUARD = "_salonpost_size_guard"

# str methods a message may call; everything else (format, expandtabs, join, ljust ...) can
# either escape the sandbox's size accounting or is simply not needed for a salon message.
_SAFE_STR_METHODS = frozenset(
    {
        "capitalize", "casefold", "count", "endswith", "find", "isalpha", "isdigit",
        "islower", "isspace", "isupper", "lower", "lstrip", "removeprefix",
        "removesuffix", "rstrip", "split", "startswith", "strip", "swapcase", "title",
        "upper",
    }
)  # fmt: skip

# Filters whose output size cannot be bounded from their arguments, and which no message needs.
_REMOVED_FILTERS = ("format", "indent", "wordwrap", "pprint")
# Globals that could build unbounded text (lipsum) or accumulate across loop steps (namespace).
_REMOVED_GLOBALS = ("lipsum", "namespace")


class CampaignSandbox(ImmutableSandboxedEnvironment):
    """Immutable sandbox with size and time limits on everything a template can compute."""

    intercepted_binops = frozenset({"*", "**", "+", "%"})

    def __init__(self, *, html: bool) -> None:
        super().__init__(autoescape=html, undefined=StrictUndefined, loader=None)
        for name in _REMOVED_GLOBALS:
            self.globals.pop(name, None)
        for name in _REMOVED_FILTERS:
            self.filters.pop(name, None)
        self.filters = {name: limits.guarded_filter(f) for name, f in self.filters.items()}
        self.filters["replace"] = limits.safe_replace(self.filters["replace"])
        self.filters["join"] = limits.safe_join(self.filters["join"])
        self.filters[_ITERATION_GUARD] = limits.guard_iteration
        self.filters[_SIZE_GUARD] = limits.guard_size

    def is_safe_attribute(self, obj: Any, attr: str, value: Any) -> bool:
        if isinstance(obj, str) and attr not in _SAFE_STR_METHODS:
            return False
        return super().is_safe_attribute(obj, attr, value)

    def wrap_str_format(self, value: Any) -> None:
        # Jinja hands out its own sandboxed str.format before asking is_safe_attribute; refuse
        # format/format_map outright instead, as field widths allocate without bound.
        return None

    def call_binop(self, context: Context, operator: str, left: Any, right: Any) -> Any:
        limits.check_binop(operator, left, right)
        result = super().call_binop(context, operator, left, right)
        limits.check_value(result)
        return result

    def call(__self, __context: Context, __obj: Any, *args: Any, **kwargs: Any) -> Any:
        limits.check_time()
        limits.check_arguments(args, kwargs)
        result = super().call(__context, __obj, *args, **kwargs)
        limits.check_value(result)
        return result

    def _generate(
        self,
        source: nodes.Template,
        name: str | None,
        filename: str | None,
        defer_init: bool = False,
    ) -> str:
        # Jinja documents _generate as the hook to override; rewriting the tree here keeps
        # env.parse() (used by the analysis) untouched.
        _insert_guards(source)
        return super()._generate(source, name, filename, defer_init)


def _insert_guards(tree: nodes.Template) -> None:
    """Route every loop iterable and every ``~`` result through the limit checks."""
    for loop in tree.find_all(nodes.For):
        loop.iter = _guard(loop.iter, _ITERATION_GUARD)
    # Collect first: wrapping while walking would revisit (and re-wrap) the new Filter nodes.
    for parent in list(tree.find_all(nodes.Node)):
        for field, value in parent.iter_fields():
            if isinstance(value, nodes.Concat):
                setattr(parent, field, _guard(value, _SIZE_GUARD))
            elif isinstance(value, list):
                value[:] = [_guard(v, _SIZE_GUARD) if isinstance(v, nodes.Concat) else v
                            for v in value]  # fmt: skip


def _guard(expr: nodes.Node, filter_name: str) -> nodes.Expr:
    return nodes.Filter(expr, filter_name, [], [], None, None, lineno=expr.lineno)


@functools.cache
def environment(*, html: bool) -> CampaignSandbox:
    """The shared environment: one for HTML bodies (autoescaped), one for everything else."""
    return CampaignSandbox(html=html)


# A template of text and bare placeholders only ("Hallo {{ first_name }}"): (is_placeholder,
# text or name) per part, in order.
_Parts = tuple[tuple[bool, str], ...]


@functools.lru_cache(maxsize=512)
def _compile(source: str, html: bool) -> tuple[Template, _Parts | None]:
    # A campaign renders one template for up to 100,000 clients: compile it once.
    env = environment(html=html)
    try:
        return env.from_string(source), _plain_parts(env.parse(source))
    except TemplateSyntaxError as exc:
        raise TemplateRenderError(
            f"line {exc.lineno}: {exc.message}", code="syntax_error", line=exc.lineno
        ) from exc


def _plain_parts(tree: nodes.Template) -> _Parts | None:
    """The parts of a template that is only text and ``{{ name }}``, else None.

    Why: most messages are exactly that, and Jinja's per-render set-up (a context, a
    generator, the deadline) costs several times the substitution itself."""
    parts: list[tuple[bool, str]] = []
    for output in tree.body:
        if not isinstance(output, nodes.Output):
            return None
        for node in output.nodes:
            if isinstance(node, nodes.TemplateData):
                parts.append((False, node.data))
            elif isinstance(node, nodes.Name) and node.ctx == "load":
                parts.append((True, node.name))
            else:
                return None
    return tuple(parts)


def _substitute(parts: _Parts, context: Mapping[str, object], html: bool) -> str | None:
    """What Jinja's compiled code yields for `parts` (``str()`` or ``escape()`` of each value,
    text as is); None when a name is not in `context` (Jinja decides: a global or an error)."""
    convert = escape if html else str
    out = []
    for placeholder, value in parts:
        if not placeholder:
            out.append(value)
        elif value in context:
            out.append(convert(context[value]))
        else:
            return None
    return "".join(out)


def render(
    source: str,
    context: Mapping[str, object],
    *,
    html: bool,
    max_chars: int = DEFAULT_MAX_CHARS,
    deadline_s: float = DEFAULT_DEADLINE_S,
) -> str:
    """Render ``source`` with ``context`` in the sandbox, or raise :class:`TemplateRenderError`."""
    template, parts = _compile(source, html)
    text = None if parts is None else _substitute(parts, context, html)
    if text is not None:
        if len(text) > max_chars:
            raise _too_large(max_chars)
        return text
    deadline = time.monotonic() + deadline_s
    token = limits.set_deadline(deadline)
    chunks: Generator[str, None, None] = template.generate(dict(context))  # type: ignore[assignment]
    try:
        return _collect(chunks, max_chars=max_chars, deadline=deadline)
    except Exception as exc:
        raise _as_render_error(exc) from exc
    finally:
        chunks.close()
        limits.reset_deadline(token)


def _collect(chunks: Iterator[str], *, max_chars: int, deadline: float) -> str:
    parts: list[str] = []
    size = 0
    for chunk in chunks:
        size += len(chunk)
        if size > max_chars:
            raise _too_large(max_chars)
        if time.monotonic() > deadline:
            raise TemplateRenderError("template took too long to render", code="too_slow")
        parts.append(chunk)
    return "".join(parts)


def _too_large(max_chars: int) -> TemplateRenderError:
    return TemplateRenderError(f"output is longer than {max_chars} characters", code="too_large")


def _template_line(exc: BaseException) -> int | None:
    # Jinja rewrites tracebacks so template frames carry the template's own line numbers.
    for frame in reversed(traceback.extract_tb(exc.__traceback__)):
        if frame.filename == "<template>":
            return frame.lineno
    return None


def _as_render_error(exc: Exception) -> TemplateError:
    line = _template_line(exc)
    if isinstance(exc, TemplateError):
        if exc.line is not None or line is None:
            return exc
        return TemplateRenderError(f"line {line}: {exc.message}", code=exc.code, line=line)
    code, reason = _classify(exc)
    where = f"line {line}: " if line is not None else ""
    return TemplateRenderError(f"{where}{reason}", code=code, line=line)


def _classify(exc: Exception) -> tuple[str, str]:
    if isinstance(exc, SecurityError):
        return "unsafe", f"not allowed in the sandbox ({exc})"
    if isinstance(exc, UndefinedError):
        return "unknown_placeholder", str(exc)
    if isinstance(exc, MemoryError | OverflowError | RecursionError):
        return "too_large", f"template needs too many resources ({type(exc).__name__})"
    return "render_failed", f"template failed to render ({type(exc).__name__}: {exc})"


def trial_render(
    source: str,
    *,
    html: bool,
    timeout_s: float = DEFAULT_DEADLINE_S,
    memory_mb: int = 256,
    field: str = "template",
) -> str | TemplateProblem:
    """Render with :func:`sample_context` in a forked, memory-capped child with a hard timeout.

    Returns the rendered text, or an R2 :class:`TemplateProblem` (``too_slow``, ``too_large``,
    ``unsafe``, ...). Fork keeps this cheap (the child inherits the imported, compiled state).
    """
    result = trial_renders(
        source, [sample_context()], html=html, timeout_s=timeout_s, memory_mb=memory_mb, field=field
    )
    return result if isinstance(result, TemplateProblem) else result[0]


def trial_renders(
    source: str,
    contexts: Sequence[Mapping[str, object]],
    *,
    html: bool,
    timeout_s: float = DEFAULT_DEADLINE_S,
    memory_mb: int = 256,
    field: str = "template",
) -> list[str] | TemplateProblem:
    """As :func:`trial_render`, once per context in one child (the limits hold for all)."""
    mp = multiprocessing.get_context("fork")
    receiver, sender = mp.Pipe(duplex=False)
    child = mp.Process(
        target=_trial_child,
        args=(sender, source, [dict(c) for c in contexts], html, timeout_s, memory_mb),
        daemon=True,
    )
    child.start()
    sender.close()  # so recv() sees EOF if the child dies
    try:
        outcome = _receive(receiver, timeout_s)
    finally:
        receiver.close()
        if child.is_alive():
            child.kill()
        child.join()
    return _as_trial_result(outcome, field)


def _receive(receiver: Connection, timeout_s: float) -> tuple[Any, ...]:
    # A small grace period covers process start-up; a non-cooperative loop is killed after it.
    if not receiver.poll(timeout_s + 0.25):
        return ("error", "too_slow", None, f"template did not finish within {timeout_s:g} s")
    try:
        outcome: tuple[Any, ...] = receiver.recv()
    except EOFError:
        return ("error", "too_large", None, "template render crashed (out of memory?)")
    return outcome


def _trial_child(
    sender: Connection,
    source: str,
    contexts: list[dict[str, object]],
    html: bool,
    timeout_s: float,
    memory_mb: int,
) -> None:
    _limit_memory(memory_mb)
    deadline = time.monotonic() + timeout_s
    try:
        texts = []
        for context in contexts:
            remaining = max(deadline - time.monotonic(), 0.001)
            texts.append(render(source, context, html=html, deadline_s=remaining))
        sender.send(("ok", texts))
    except TemplateError as exc:
        sender.send(("error", exc.code, exc.line, exc.message))
    except MemoryError:
        sender.send(("error", "too_large", None, "template needs too much memory"))
    finally:
        sender.close()


def _limit_memory(memory_mb: int) -> None:
    """Cap the child's address space at what it already maps plus ``memory_mb``."""
    try:
        with open("/proc/self/statm") as statm:
            mapped = int(statm.read().split()[0]) * os.sysconf("SC_PAGE_SIZE")
    except OSError:
        mapped = 0  # not Linux: the cap alone still bounds the child
    _, hard = resource.getrlimit(resource.RLIMIT_AS)
    limit = mapped + memory_mb * 1024 * 1024
    if hard != resource.RLIM_INFINITY:
        limit = min(limit, hard)
    resource.setrlimit(resource.RLIMIT_AS, (limit, hard))


def _as_trial_result(outcome: tuple[Any, ...], field: str) -> list[str] | TemplateProblem:
    if outcome[0] == "ok":
        return [str(text) for text in outcome[1]]
    _, code, line, message = outcome
    return TemplateProblem(rule="R2", field=field, line=line, code=code, message=message)
