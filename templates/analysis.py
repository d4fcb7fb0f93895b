"""Static checks of a campaign template: rules R1 and R2, on the parsed tree.

Working on ``jinja2.nodes`` rather than on the source text is the point: a placeholder in a
``{# comment #}``, a ``{% raw %}`` block or a string literal is not a placeholder, and only the
tree can tell ``{{ unsubscribe_url }}`` from ``{{ unsubscribe_url_x }}``.

R1 is deliberately conservative: the unsubscribe link counts only when an ``Output`` reachable
on every path from the top level prints it, bare or through a harmless filter, with nothing
glued to it in the template's text. Anything we cannot prove (loops that may run zero times,
branches without ``else``, uncalled macros) fails. Then a trial render with a marker link
(:mod:`templates.link_check`) proves what the tree cannot: the link comes out intact,
delimited and, in HTML, visible.

Size is checked first (:mod:`templates.sizes`): an oversized source is refused unparsed.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence

from jinja2 import TemplateSyntaxError, meta, nodes

from . import link_check
from .catalogue import PLACEHOLDERS, UNSUBSCRIBE_PLACEHOLDER, sample_context
from .marker import MARKER, delimits_after, delimits_before
from .problems import TemplateProblem
from .sandbox import environment, trial_renders
from .sizes import source_size_problem

__all__ = ["HARMLESS_FILTERS", "TemplateProblem", "check_template", "outputs_unsubscribe"]

#: filters that leave the unsubscribe URL intact (escaping, or turning it into a link)
HARMLESS_FILTERS = frozenset({"e", "escape", "forceescape", "safe", "string", "trim", "urlize"})

_FORBIDDEN_TAGS: dict[type[nodes.Node], str] = {
    nodes.Extends: "extends",
    nodes.Include: "include",
    nodes.Import: "import",
    nodes.FromImport: "from ... import",
}


def trial_contexts() -> list[dict[str, str]]:
    """The contexts of the trial render: the sample with the marker link, and the same with
    empty names (so a branch on a missing first name is rendered too)."""
    sample = sample_context(unsubscribe_url=MARKER)
    return [sample, {**sample, "first_name": "", "last_name": ""}]


def check_template(
    source: str, *, field: str, requires_unsubscribe: bool = True, html: bool = False
) -> list[TemplateProblem]:
    """Every R1/R2 problem of one message part (``field``); an empty list means it may be used."""
    too_large = source_size_problem(source, field=field)
    if too_large is not None:
        return [too_large]
    try:
        tree = environment(html=html).parse(source)
        # find_undeclared_variables compiles, which also catches unknown filters and tests.
        problems = [*_forbidden_tags(tree, field), *_shadowed(tree, field), *_unknown(tree, field)]
    except TemplateSyntaxError as exc:
        message = f"line {exc.lineno}: syntax error: {exc.message}"
        return [TemplateProblem("R2", field, exc.lineno, "syntax_error", message)]
    renders: list[str] = []
    if not problems:  # the static problems already explain why a render would fail
        result = trial_renders(source, trial_contexts(), html=html, field=field)
        if isinstance(result, TemplateProblem):
            problems.append(result)
        else:
            renders = result
    if requires_unsubscribe:
        problems.extend(_unsubscribe_problems(tree, field, renders, html=html))
    return problems


def _problem(rule: str, field: str, line: int | None, code: str, text: str) -> TemplateProblem:
    where = f"line {line}: " if line is not None else ""
    return TemplateProblem(rule=rule, field=field, line=line, code=code, message=where + text)


def _forbidden_tags(tree: nodes.Template, field: str) -> Iterator[TemplateProblem]:
    for node_type, tag in _FORBIDDEN_TAGS.items():
        for node in tree.find_all(node_type):
            text = f"'{{% {tag} %}}' is not allowed; templates cannot load other templates"
            yield _problem("R2", field, node.lineno, "forbidden_tag", text)


def _shadowing_nodes(tree: nodes.Template) -> Iterator[tuple[str, int]]:
    """Every place a template assigns to a catalogue name (set, for, with, macro argument)."""
    for name in tree.find_all(nodes.Name):
        if name.ctx != "load" and name.name in PLACEHOLDERS:
            yield name.name, name.lineno
    for macro in tree.find_all(nodes.Macro):
        if macro.name in PLACEHOLDERS:
            yield macro.name, macro.lineno


def _shadowed(tree: nodes.Template, field: str) -> Iterator[TemplateProblem]:
    for name, line in _shadowing_nodes(tree):
        text = f"placeholder '{name}' must not be assigned in the template"
        yield _problem("R2", field, line, "shadowed_placeholder", text)


def _unknown(tree: nodes.Template, field: str) -> list[TemplateProblem]:
    known = PLACEHOLDERS.keys() | environment(html=False).globals.keys()
    unknown = meta.find_undeclared_variables(tree) - known
    found = [(_first_use(tree, name), name) for name in unknown]
    return [
        _problem("R2", field, line, "unknown_placeholder", f"unknown placeholder '{name}'")
        for line, name in sorted(found, key=lambda item: (item[0] or 0, item[1]))
    ]


def _first_use(tree: nodes.Template, name: str) -> int | None:
    lines = [n.lineno for n in tree.find_all(nodes.Name) if n.name == name and n.ctx == "load"]
    return min(lines, default=None)


def _unsubscribe_problems(
    tree: nodes.Template, field: str, renders: list[str], *, html: bool
) -> list[TemplateProblem]:
    glued = sorted(set(_glued_lines(tree, html=html)))
    glued_text = link_check.MESSAGES["unsubscribe_glued"][0]
    problems = [_problem("R1", field, line, "unsubscribe_glued", glued_text) for line in glued]
    if not outputs_unsubscribe(tree, html=html):
        if not glued:
            text = (
                f"'{{{{ {UNSUBSCRIBE_PLACEHOLDER} }}}}' is not output on every path "
                "(not in a comment, loop, optional branch or uncalled macro)"
            )
            problems.append(_problem("R1", field, None, "unsubscribe_missing", text))
        return problems
    check = link_check.check_html if html else link_check.check_text
    findings = dict.fromkeys(finding for rendered in renders for finding in check(rendered))
    seen = {p.code for p in problems}
    problems += [
        _problem("R1", field, None, code, message) for code, message in findings if code not in seen
    ]
    return problems


def _glued_lines(tree: nodes.Template, *, html: bool) -> Iterator[int]:
    """Lines where the template glues text or another value to the link it prints."""
    walker = _OutputWalker(tree, html=html, check_neighbours=False)
    for output in tree.find_all(nodes.Output):
        for index, child in enumerate(output.nodes):
            if walker.expression(child) and not _delimited(output.nodes, index, html=html):
                yield child.lineno
    for concat in tree.find_all(nodes.Concat):
        for index, part in enumerate(concat.nodes):
            if walker.expression(part) and not _delimited(concat.nodes, index, html=html):
                yield part.lineno


def _literal(node: nodes.Node) -> str | None:
    """The text of a literal neighbour, or None for a value only known when rendering."""
    if isinstance(node, nodes.TemplateData):
        return node.data
    if isinstance(node, nodes.Const) and isinstance(node.value, str):
        return node.value
    return None


def _delimited(siblings: Sequence[nodes.Node], index: int, *, html: bool) -> bool:
    """Nothing but a delimiter stands right before and after ``siblings[index]``.

    At the edge of an ``Output`` the neighbour is another statement: the trial render
    judges that."""
    before = _literal(siblings[index - 1]) if index > 0 else ""
    after = _literal(siblings[index + 1]) if index + 1 < len(siblings) else ""
    if before is None or after is None:
        return False
    return delimits_before(before, html=html) and delimits_after(after, html=html)


def outputs_unsubscribe(tree: nodes.Template, *, html: bool = False) -> bool:
    """True only if rendering ``tree`` prints ``unsubscribe_url`` whatever the data (rule R1),
    with no literal text or other value glued to it."""
    if any(name == UNSUBSCRIBE_PLACEHOLDER for name, _ in _shadowing_nodes(tree)):
        return False
    return _OutputWalker(tree, html=html).body(tree.body)


class _OutputWalker:
    """Decides whether statements/expressions print the unsubscribe URL on every path.

    With ``check_neighbours`` only a delimited print counts (see :func:`_delimited`).
    """

    def __init__(self, tree: nodes.Template, *, html: bool, check_neighbours: bool = True) -> None:
        self.html = html
        self.check_neighbours = check_neighbours
        self.macros = _top_level_macros(tree)
        self.eval_ctx = nodes.EvalContext(environment(html=False))
        self.expanding: set[str] = set()  # macros being expanded, to stop on recursion

    def body(self, body: Sequence[nodes.Node]) -> bool:
        return any(self.statement(node) for node in body)

    def statement(self, node: nodes.Node) -> bool:
        if isinstance(node, nodes.Output):
            return self.prints_delimited(node.nodes)
        if isinstance(node, nodes.If):
            return self.branches(node)
        if isinstance(node, nodes.FilterBlock):
            return _harmless_chain(node.filter) and self.body(node.body)
        if isinstance(node, nodes.CallBlock):
            return self.call(node.call)
        # Blocks render in place (there is no extends); the others only scope variables.
        scoped = (nodes.Block, nodes.Scope, nodes.With, nodes.ScopedEvalContextModifier)
        if isinstance(node, scoped):
            return self.body(node.body)
        return False  # For (may run zero times), Macro definitions, Assign, ...

    def branches(self, node: nodes.If) -> bool:
        arms = [(node.test, node.body), *((arm.test, arm.body) for arm in node.elif_)]
        for test, body in arms:
            verdict = self.truth(test)
            if verdict is False:
                continue  # never taken: neither needed nor sufficient
            if not self.body(body):
                return False
            if verdict is True:
                return True  # later arms are unreachable
        return bool(node.else_) and self.body(node.else_)

    def expression(self, expr: nodes.Node) -> bool:
        if isinstance(expr, nodes.Name):
            return expr.ctx == "load" and expr.name == UNSUBSCRIBE_PLACEHOLDER
        if isinstance(expr, nodes.Filter):
            return _harmless_filter(expr) and expr.node is not None and self.expression(expr.node)
        if isinstance(expr, nodes.Concat):
            return self.prints_delimited(expr.nodes)
        if isinstance(expr, nodes.CondExpr):
            return self.conditional(expr)
        if isinstance(expr, nodes.Call):
            return self.call(expr)
        return False

    def prints_delimited(self, siblings: Sequence[nodes.Node]) -> bool:
        return any(
            self.expression(child)
            and (not self.check_neighbours or _delimited(siblings, index, html=self.html))
            for index, child in enumerate(siblings)
        )

    def conditional(self, expr: nodes.CondExpr) -> bool:
        verdict = self.truth(expr.test)
        when_true = verdict is not False and self.expression(expr.expr1)
        when_false = expr.expr2 is not None and self.expression(expr.expr2)
        if verdict is None:
            return when_true and when_false
        return when_true if verdict else when_false

    def call(self, call: nodes.Call) -> bool:
        target = call.node
        if not isinstance(target, nodes.Name) or target.name not in self.macros:
            return False
        if target.name in self.expanding:
            return False  # recursion proves nothing
        self.expanding.add(target.name)
        try:
            return self.body(self.macros[target.name].body)
        finally:
            self.expanding.discard(target.name)

    def truth(self, test: nodes.Node) -> bool | None:
        """The constant truth value of a test, or None when it depends on data."""
        try:
            return bool(test.as_const(self.eval_ctx))  # type: ignore[attr-defined]
        except Exception:  # Impossible, or a constant that fails to evaluate
            return None


def _top_level_macros(tree: nodes.Template) -> dict[str, nodes.Macro]:
    # Only macros defined once at the top level are certainly defined when called.
    macros = [node for node in tree.body if isinstance(node, nodes.Macro)]
    names = [macro.name for macro in macros]
    return {macro.name: macro for macro in macros if names.count(macro.name) == 1}


def _harmless_filter(node: nodes.Filter) -> bool:
    has_arguments = node.args or node.kwargs or node.dyn_args or node.dyn_kwargs
    return node.name in HARMLESS_FILTERS and not has_arguments


def _harmless_chain(node: nodes.Filter) -> bool:
    """A ``{% filter a|b %}`` chain made only of harmless filters."""
    current: nodes.Node | None = node
    while isinstance(current, nodes.Filter):
        if not _harmless_filter(current):
            return False
        current = current.node
    return current is None
