"""Every ready-made template passes R1, R2 and R10 as shipped, in German and English."""

import pytest
from compose_support import SALON_MEDIA, external_resources

from templates.analysis import check_template
from templates.catalogue import sample_context
from templates.compliance import Part, carries_r10
from templates.compose import Brand, compose_markdown
from templates.errors import TemplateError
from templates.footer import Sender
from templates.gallery import gallery, gallery_template
from templates.sandbox import render
from templates.sizes import check_sms

OCCASIONS = {
    "advent", "valentine", "mothers-day", "new-treatment", "last-minute", "price-change",
    "summer-break",
}  # fmt: skip
BRAND = Brand(
    logo_url=SALON_MEDIA + "logo.png",
    booking_url="https://anna.example/buchen",
    image_prefixes=(SALON_MEDIA,),
)
# As long as a real link gets: base URL, salon, client, channel, campaign and signature.
LONG_LINK = "https://app.salonpost.example/u/2bi-1njchs-s-7ps~" + "A" * 27


def test_the_gallery_has_every_occasion_in_german_and_english():
    assert {t.occasion for t in gallery()} == OCCASIONS
    assert {(t.occasion, str(t.language)) for t in gallery()} == {
        (occasion, language) for occasion in OCCASIONS for language in ("de", "en")
    }


@pytest.mark.parametrize("template", gallery(), ids=lambda t: f"{t.name}-{t.language}")
def test_every_ready_made_template_passes_r1_r2_and_r10_as_shipped(template):
    salon = Sender("Salon Haarmonie", "Hauptstr. 1, 10115 Berlin", language=template.language)
    email = compose_markdown(template.markdown, subject=template.subject, brand=BRAND, sender=salon)
    assert check_template(template.sms, field="sms") == []
    assert check_template(template.subject, field="email_subject", requires_unsubscribe=False) == []
    assert check_template(email.html, field="email_html", html=True) == []
    assert check_template(email.text, field="email_text") == []
    assert carries_r10(template.sms, Part.SMS, salon)
    assert carries_r10(email.html, Part.EMAIL_HTML, salon)
    assert carries_r10(email.text, Part.EMAIL_TEXT, salon)
    context = {**sample_context(unsubscribe_url=LONG_LINK), "salon_name": salon.name}
    page = render(email.html, context, html=True)
    assert page.lower().startswith("<!doctype html>") and page.rstrip().endswith("</html>")
    assert LONG_LINK in page and "Hauptstr. 1, 10115 Berlin" in page
    assert external_resources(page) == []
    sms = check_sms(render(template.sms, context, html=False))
    assert sms.problems == [] and sms.warnings == []  # at most 3 segments with a long link


def test_a_template_is_found_by_name_and_language_or_named_as_unknown():
    assert gallery_template("advent", "en").subject.startswith("Ready for the holidays")
    with pytest.raises(TemplateError) as unknown:
        gallery_template("easter", "de")
    assert unknown.value.code == "not_found" and "advent" in unknown.value.message
