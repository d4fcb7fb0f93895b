"""Property (R1 + R10): whatever a staff template holds, the message after
``with_compliance_footer`` outputs the unsubscribe link, the salon's name and the notice.

The oracle does not reuse the analysis: the generator also writes the template as a reader
would see it, without the hidden pieces. Unless that reader's version shows the salon's name,
address, notice and link by itself, the footer must be in the rendered message word for word."""

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from templates.catalogue import sample_context
from templates.compliance import Part, with_compliance_footer
from templates.footer import Language, Sender, email_footer_html, email_footer_text, sms_notice
from templates.sandbox import render

URL = "https://salon.example/u/1-2-e-3~AbC_d-9"
NOTICE = (
    "Sie können der Verwendung Ihrer Daten für Werbung jederzeit widersprechen, ohne dass "
    "Ihnen andere als die Übermittlungskosten nach den Basistarifen entstehen."
)
NAME = "Salon Anna"
ADDRESS = "Hauptstr. 1, 10115 Berlin"
SENDERS = [
    Sender(NAME, ADDRESS, language=Language.DE),
    Sender(NAME, ADDRESS, contact_email="info@anna.de", language=Language.DE),
]

words = st.text(alphabet="abcdeäöüß ABC .,!?-:1234567890€", min_size=1, max_size=30)
placeholders = st.sampled_from(
    ["{{ first_name }}", "{{ last_name }}", "{{ salon_name }}", "{{ unsubscribe_url }}"]
)
# Pieces of what R10 looks for, which alone never carry it.
partial_html = st.sampled_from(
    [
        NAME,
        ADDRESS,
        NOTICE,
        f"{NAME}, {ADDRESS}",
        f'{NOTICE} <a href="{{{{ unsubscribe_url }}}}">x</a>',
    ]
)
complete_html = (
    f'<p>{NAME}, {ADDRESS}</p><p>{NOTICE} <a href="{{{{ unsubscribe_url }}}}">Abmelden</a></p>'
)
HIDERS = [
    ('<div style="display:none">', "</div>"),
    ('<div style="font-size:0">', "</div>"),  # a <p> would be closed by the inner <p>
    ('<span style="color:#ffffff">', "</span>"),
    ("<!-- ", " -->"),
    ("{% if false %}", "{% endif %}"),
    ("{% if first_name %}", "{% endif %}"),
    ("{# ", " #}"),
    ("<template>", "</template>"),
]


@st.composite
def html_templates(draw: st.DrawFn) -> tuple[str, str]:
    """An HTML template, and the same without what a reader cannot see."""
    pieces: list[str] = []
    seen: list[str] = []
    for _ in range(draw(st.integers(0, 6))):
        kind = draw(st.sampled_from(["text", "placeholder", "partial", "hidden", "complete"]))
        if kind == "hidden":
            start, end = draw(st.sampled_from(HIDERS))
            pieces.append(start + draw(st.sampled_from([complete_html, NOTICE])) + end)
            continue
        piece = {
            "text": lambda: f"<p>{draw(words)}</p>",
            "placeholder": lambda: f"<p>{draw(placeholders)}</p>",
            "partial": lambda: f"<p>{draw(partial_html)}</p>",
            "complete": lambda: complete_html,
        }[kind]()
        pieces.append(piece)
        seen.append(piece)
    if draw(st.booleans()):
        return f"<html><body>{''.join(pieces)}</body></html>", "".join(seen)
    return "".join(pieces), "".join(seen)


@st.composite
def text_templates(draw: st.DrawFn) -> tuple[str, str]:
    """A plain-text template (email text part), and the same without its comment."""
    pieces = draw(
        st.lists(st.one_of(words, placeholders, st.sampled_from([NAME, NOTICE])), max_size=8)
    )
    if draw(st.booleans()):
        pieces.append(f"\n{NAME}, {ADDRESS}\n{NOTICE} {{{{ unsubscribe_url }}}}")
    seen = " ".join(pieces)
    if draw(st.booleans()):
        return "{# " + f"{NAME}, {ADDRESS} {NOTICE}" + " #} " + seen, seen
    return seen, seen


@st.composite
def sms_templates(draw: st.DrawFn) -> tuple[str, str]:
    pieces = draw(st.lists(st.one_of(words, placeholders), max_size=6))
    if draw(st.booleans()):
        pieces.append(f"{NAME}: Abmelden kostenlos: {{{{ unsubscribe_url }}}}")
    return " ".join(pieces), " ".join(pieces)


def shown(source: str, part: Part, sender: Sender) -> str:
    context = {**sample_context(unsubscribe_url=URL), "salon_name": sender.name}
    return render(source, context, html=part == Part.EMAIL_HTML)


def footer_of(part: Part, sender: Sender) -> str:
    source = {
        Part.EMAIL_HTML: email_footer_html,
        Part.EMAIL_TEXT: email_footer_text,
        Part.SMS: sms_notice,
    }[part](sender)
    return shown(source, part, sender)


def carried_by(seen: str, part: Part) -> bool:
    """What the reader's version shows by itself (textually; nearness is the analysis's)."""
    if part == Part.SMS:
        return f"{NAME}: Abmelden kostenlos: {URL}" in seen
    return all(piece in seen for piece in (NAME, ADDRESS, NOTICE, URL))


def assert_lawful(source: str, reader_version: str, part: Part, sender: Sender) -> None:
    message = shown(with_compliance_footer(source, part, sender), part, sender)
    if not carried_by(shown(reader_version, part, sender), part):
        assert footer_of(part, sender) in message
    assert URL in message and NAME in message
    assert (NOTICE in message) or (part == Part.SMS and "Abmelden kostenlos: " + URL in message)


PROPERTY = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@PROPERTY
@given(html_templates(), st.sampled_from(SENDERS))
def test_every_html_message_outputs_link_salon_and_notice(template, sender):
    assert_lawful(*template, Part.EMAIL_HTML, sender)


@PROPERTY
@given(text_templates(), st.sampled_from(SENDERS))
def test_every_text_part_outputs_link_salon_and_notice(template, sender):
    assert_lawful(*template, Part.EMAIL_TEXT, sender)


@PROPERTY
@given(sms_templates(), st.sampled_from(SENDERS))
def test_every_sms_outputs_link_salon_and_notice(template, sender):
    assert_lawful(*template, Part.SMS, sender)
