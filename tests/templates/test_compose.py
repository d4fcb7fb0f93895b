"""Composing: Markdown or blocks into responsive HTML with the R10 footer, text from the same
source, placeholders intact, nothing loaded from outside."""

import re

import pytest
from compose_support import SALON_MEDIA, external_resources

from templates.analysis import check_template
from templates.catalogue import sample_context
from templates.compliance import Part, carries_r10, with_compliance_footer
from templates.compose import Brand, blocks_from_list, compose_blocks, compose_markdown
from templates.errors import TemplateError
from templates.footer import Language, Sender
from templates.sandbox import render

ANNA = Sender("Salon Anna", "Hauptstr. 1, 10115 Berlin", language=Language.DE)
BRAND = Brand(
    colour="#7A4B8C",
    logo_url=SALON_MEDIA + "logo.png",
    booking_url="https://anna.example/buchen",
    image_prefixes=(SALON_MEDIA,),
)
MARKDOWN = f"""# Frühling bei {{{{ salon_name }}}}

Hallo {{{{ first_name }}}}, der **Frühling** ist da{{% if first_name %}}!{{% endif %}}

- Schnitt ab 29 €
- Farbe ab 49 €

![Unser Team]({SALON_MEDIA}team.jpg)

[[Termin buchen]]

---

Bis bald, Ihr Team von [Salon Anna](https://anna.example/).
"""


@pytest.fixture
def email():
    return compose_markdown(
        MARKDOWN, subject="Frühling bei {{ salon_name }}", brand=BRAND, sender=ANNA
    )


def shown(source: str, *, html: bool) -> str:
    return render(source, {**sample_context(), "salon_name": "Salon Anna"}, html=html)


def test_markdown_becomes_a_responsive_email_with_the_salons_look(email):
    page = shown(email.html, html=True)
    assert page.lower().startswith("<!doctype html>") and page.count("<body") == 1
    assert '<meta name="viewport" content="width=device-width, initial-scale=1">' in page
    assert "@media only screen and (min-width:480px)" in page  # the responsive columns
    assert re.search(r"<h1[^>]*>Frühling bei Salon Anna</h1>", page)
    assert "Hallo Anna, der <strong>Frühling</strong> ist da!" in page
    assert "<li>Schnitt ab 29 €</li>" in page
    assert f'src="{SALON_MEDIA}team.jpg"' in page and f'src="{SALON_MEDIA}logo.png"' in page
    assert 'href="https://anna.example/buchen"' in page and "#7A4B8C" in page
    assert re.search(r'<p style="[^"]*margin[^"]*">', page)  # the CSS is inlined


def test_the_composed_email_passes_r1_r2_and_carries_r10_as_composed(email):
    assert check_template(email.html, field="email_html", html=True) == []
    assert check_template(email.text, field="email_text") == []
    assert carries_r10(email.html, Part.EMAIL_HTML, ANNA)
    assert with_compliance_footer(email.html, Part.EMAIL_HTML, ANNA) == email.html
    assert with_compliance_footer(email.text, Part.EMAIL_TEXT, ANNA) == email.text


def test_placeholders_survive_into_both_parts_as_template_code(email):
    for part in (email.html, email.text):
        assert "{{ first_name }}" in part and "{% if first_name %}!{% endif %}" in part
    assert email.subject == "Frühling bei {{ salon_name }}"


def test_the_text_part_says_the_same_from_the_same_source(email):
    text = shown(email.text, html=False)
    assert text.startswith("Frühling bei Salon Anna\n=======================")
    assert "Hallo Anna, der Frühling ist da!" in text
    assert "- Schnitt ab 29 €\n- Farbe ab 49 €" in text
    assert "Termin buchen: https://anna.example/buchen" in text
    assert "Salon Anna (https://anna.example/)" in text and "[Unser Team]" in text
    assert "Salon Anna, Hauptstr. 1, 10115 Berlin" in text and "widersprechen" in text
    assert "<" not in text


def test_nothing_is_loaded_from_outside_but_the_salons_images(email):
    assert external_resources(shown(email.html, html=True)) == []
    assert "fonts.googleapis" not in email.html


def test_html_typed_into_markdown_is_shown_as_text_not_run():
    email = compose_markdown(
        "Hallo <script>alert(1)</script> <b onclick=x>fett</b>",
        subject="x",
        brand=BRAND,
        sender=ANNA,
    )
    assert "<script>" not in email.html and "<b onclick" not in email.html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in email.html


@pytest.mark.parametrize(
    "link", ["javascript:alert(1)", "data:text/html;base64,AAAA", "vbscript:x"]
)
def test_a_script_link_in_markdown_is_never_a_link(link):
    email = compose_markdown(f"[klick]({link})", subject="x", brand=BRAND, sender=ANNA)
    assert f'href="{link}' not in email.html and 'href="javascript' not in email.html


REFUSED = {
    "foreign_image": ("![x](https://tracker.example/p.gif)", "bad_block"),
    "image_over_http": ("![x](http://app.salonpost.example/media/anna/a.png)", "bad_block"),
    "ftp_link": ("[klick](ftp://files.example/x)", "bad_markdown"),
    "relative_link": ("[klick](/preise)", "bad_markdown"),
    "inline_image": (f"Text ![x]({SALON_MEDIA}a.png) Text", "bad_markdown"),
    "empty": ("", "bad_markdown"),
    "too_long": ("a" * 50_001, "too_large"),
}


@pytest.mark.parametrize(("markdown", "code"), REFUSED.values(), ids=REFUSED.keys())
def test_markdown_that_cannot_be_sent_is_refused_with_the_reason(markdown, code):
    with pytest.raises(TemplateError) as refused:
        compose_markdown(markdown, subject="x", brand=BRAND, sender=ANNA)
    assert refused.value.code == code


def test_a_booking_button_needs_the_salons_booking_link():
    with pytest.raises(TemplateError) as refused:
        compose_markdown("[[Termin buchen]]", subject="x", brand=Brand(), sender=ANNA)
    assert refused.value.code == "bad_block" and "booking link" in refused.value.message
    other = compose_markdown(
        "[[Gutschein]](https://anna.example/g)", subject="x", brand=Brand(), sender=ANNA
    )
    assert 'href="https://anna.example/g"' in other.html


@pytest.mark.parametrize(
    "brand",
    [
        {"colour": "red"},
        {"colour": "#12345"},
        {"booking_url": "javascript:alert(1)"},
        {"logo_url": "https://tracker.example/logo.png"},
    ],
)
def test_a_brand_that_cannot_be_used_is_refused(brand):
    with pytest.raises(TemplateError):
        Brand(image_prefixes=(SALON_MEDIA,), **brand)


def test_a_salon_without_postal_address_cannot_compose_an_email():
    with pytest.raises(TemplateError) as refused:
        compose_markdown("Hallo", subject="x", brand=BRAND, sender=Sender("Salon Anna"))
    assert refused.value.code == "no_postal_address"


@pytest.mark.parametrize(("colour", "text"), [("#7A4B8C", "#ffffff"), ("#F5E6A8", "#000000")])
def test_the_button_text_reads_well_on_the_salon_colour(colour, text):
    email = compose_markdown(
        "[[Termin buchen]]",
        subject="x",
        brand=Brand(colour=colour, booking_url="https://a.example/b"),
        sender=ANNA,
    )
    assert f"color:{text}" in email.html.replace(" ", "")


def test_blocks_from_the_editor_compose_like_markdown():
    blocks = blocks_from_list(
        [
            {"type": "heading", "text": "Hallo {{ first_name }} <3"},
            {"type": "paragraph", "text": "20 % auf alles & mehr"},
            {"type": "image", "src": SALON_MEDIA + "a.png", "alt": "Salon"},
            {"type": "button", "label": "Termin buchen"},
            {"type": "divider"},
        ]
    )
    email = compose_blocks(blocks, subject="x", brand=BRAND, sender=ANNA)
    page = shown(email.html, html=True)
    assert "Hallo Anna &lt;3" in page and "20 % auf alles &amp; mehr" in page
    assert check_template(email.html, field="email_html", html=True) == []
    assert "Termin buchen: https://anna.example/buchen" in email.text


@pytest.mark.parametrize(
    "items",
    [[{"type": "video", "src": "x"}], [{"type": "heading"}], [{"type": "button", "label": " "}]],
    ids=["unknown_type", "missing_text", "blank_label"],
)
def test_an_editor_block_that_is_incomplete_is_refused_naming_it(items):
    with pytest.raises(TemplateError) as refused:
        blocks_from_list(items)
    assert refused.value.code == "bad_block" and "block 1" in refused.value.message
