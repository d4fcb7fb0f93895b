"""R10: every marketing message names the salon (email: and its address) and carries the
objection notice next to the unsubscribe link; Salonpost adds the footer when it is missing."""

import pytest

from templates.analysis import check_template
from templates.catalogue import sample_context
from templates.compliance import (
    NEAR,
    Part,
    carries_r10,
    compliance_problems,
    sender_problems,
    with_compliance_footer,
)
from templates.errors import TemplateError
from templates.footer import (
    Language,
    Sender,
    SmsNotice,
    email_footer_html,
    email_footer_text,
    sms_notice,
)
from templates.sandbox import render
from templates.sizes import check_sms
from templates.sms import sms_size

ANNA = Sender("Salon Anna", "Hauptstr. 1, 10115 Berlin", language=Language.DE)
ANNA_EN = Sender("Salon Anna", "Hauptstr. 1, 10115 Berlin", language=Language.EN)
NOTICE_DE = (
    "Sie können der Verwendung Ihrer Daten für Werbung jederzeit widersprechen, ohne dass "
    "Ihnen andere als die Übermittlungskosten nach den Basistarifen entstehen."
)
NOTICE_EN = (
    "You can object to the use of your data for advertising at any time, without any costs "
    "other than the transmission costs at the basic rates."
)
URL = "https://salon.example/u/1-2-e-3~AbC_d-9"


def rendered(source: str, part: Part, sender: Sender = ANNA) -> str:
    context = {**sample_context(unsubscribe_url=URL), "salon_name": sender.name}
    return render(source, context, html=part == Part.EMAIL_HTML)


@pytest.mark.parametrize(
    ("sender", "notice", "label"),
    [(ANNA, NOTICE_DE, "Abmelden"), (ANNA_EN, NOTICE_EN, "Unsubscribe")],
)
def test_email_footer_names_salon_and_address_with_the_notice_beside_the_link(
    sender, notice, label
):
    html = rendered(email_footer_html(sender), Part.EMAIL_HTML)
    assert "Salon Anna · Hauptstr. 1, 10115 Berlin" in html
    assert f'{notice} <a href="{URL}"' in html and f">{label}</a>" in html
    text = rendered(email_footer_text(sender), Part.EMAIL_TEXT)
    assert "Salon Anna, Hauptstr. 1, 10115 Berlin" in text
    assert f"{notice}\n{label}: {URL}" in text


def test_footer_prints_salon_data_literally_never_as_template_or_markup():
    odd = Sender('Studio "{{ 7*7 }}" <b>& Co</b> {% if %}', "Weg 1\n12345 Ort")
    html = rendered(email_footer_html(odd), Part.EMAIL_HTML, odd)
    assert "&#34;{{ 7*7 }}&#34; &lt;b&gt;&amp; Co&lt;/b&gt; {% if %}" in html
    assert "Weg 1 12345 Ort" in html and "49" not in html
    assert 'Studio "{{ 7*7 }}" <b>& Co</b> {% if %}' in rendered(
        email_footer_text(odd), Part.EMAIL_TEXT, odd
    )


def test_contact_email_and_imprint_are_shown_when_the_salon_has_them():
    salon = Sender(
        "Salon Anna", "Hauptstr. 1", contact_email="info@anna.de", imprint_url="https://anna.de/i"
    )
    html = rendered(email_footer_html(salon), Part.EMAIL_HTML, salon)
    assert 'href="mailto:info@anna.de"' in html and 'href="https://anna.de/i"' in html
    assert ">Impressum</a>" in html
    assert "Kontakt: info@anna.de" in rendered(email_footer_text(salon), Part.EMAIL_TEXT, salon)


@pytest.mark.parametrize(
    "sender",
    [
        Sender("  ", "Hauptstr. 1"),
        Sender("Salon Anna", "Hauptstr. 1", contact_email="not an address"),
        Sender("Salon Anna", "Hauptstr. 1", imprint_url="javascript:alert(1)"),
    ],
    ids=["no_name", "bad_contact_email", "imprint_not_http"],
)
def test_an_unusable_sender_is_refused_with_the_reason(sender):
    with pytest.raises(TemplateError) as refused:
        email_footer_html(sender)
    assert refused.value.code == "bad_sender"


def test_a_salon_without_postal_address_cannot_send_email_marketing():
    homeless = Sender("Salon Anna", None)
    [problem] = sender_problems(homeless, channels=("sms", "email"))
    assert (problem.rule, problem.code) == ("R10", "no_postal_address")
    assert sender_problems(homeless, channels=("sms",)) == []
    assert sender_problems(ANNA, channels=("email",)) == []
    with pytest.raises(TemplateError) as refused:
        with_compliance_footer("<p>Hi {{ unsubscribe_url }}</p>", Part.EMAIL_HTML, homeless)
    assert refused.value.code == "no_postal_address"
    [problem] = compliance_problems("Hi {{ unsubscribe_url }}", Part.EMAIL_TEXT, homeless)
    assert (problem.rule, problem.code) == ("R10", "no_postal_address")


COMPLETE_HTML = (
    "<p>Salon Anna, Hauptstr. 1, 10115 Berlin</p>"
    f'<p>{NOTICE_DE} <a href="{{{{ unsubscribe_url }}}}">Abmelden</a></p>'
)


def test_a_template_that_carries_sender_and_notice_is_left_as_it_is():
    source = f"<html><body><p>Hallo {{{{ first_name }}}}</p>{COMPLETE_HTML}</body></html>"
    assert carries_r10(source, Part.EMAIL_HTML, ANNA)
    assert with_compliance_footer(source, Part.EMAIL_HTML, ANNA) == source
    text = (
        f"Hallo\n{{{{ salon_name }}}}, Hauptstr. 1\n10115 Berlin\n{NOTICE_EN}\n"
        "{{ unsubscribe_url }}"
    )
    assert with_compliance_footer(text, Part.EMAIL_TEXT, ANNA) == text


NOT_CARRIED = {
    "nothing": "<p>Hallo {{ first_name }} {{ unsubscribe_url }}</p>",
    "no_address": COMPLETE_HTML.replace("Hauptstr. 1, 10115 Berlin", ""),
    "no_salon_name": COMPLETE_HTML.replace("Salon Anna,", ""),
    "no_notice": COMPLETE_HTML.replace(NOTICE_DE, ""),
    "notice_without_link": COMPLETE_HTML.replace(
        '<a href="{{ unsubscribe_url }}">Abmelden</a>', ""
    ),
    "notice_far_from_link": COMPLETE_HTML.replace(NOTICE_DE, NOTICE_DE + " x" * NEAR),
    "hidden_notice": f'<div style="display:none">{COMPLETE_HTML}</div>',
    "white_notice": f'<div style="color:#fff">{COMPLETE_HTML}</div>',
    "notice_in_comment": f"<!-- {COMPLETE_HTML} -->",
    "notice_in_never_true_branch": f"{{% if false %}}{COMPLETE_HTML}{{% endif %}}",
    "notice_only_with_a_first_name": f"{{% if first_name %}}{COMPLETE_HTML}{{% endif %}}",
}


@pytest.mark.parametrize("body", NOT_CARRIED.values(), ids=NOT_CARRIED.keys())
def test_a_template_lacking_sender_or_notice_gets_the_footer(body):
    # R1's link, far from anything R10 looks for.
    far = "<p>{{ unsubscribe_url }}</p><p>" + "Text " * NEAR + "</p>"
    source = f"<html><body>{far}{body}</body></html>"
    assert not carries_r10(source, Part.EMAIL_HTML, ANNA)
    result = with_compliance_footer(source, Part.EMAIL_HTML, ANNA)
    assert result.endswith("</body></html>") and email_footer_html(ANNA) in result
    assert carries_r10(result, Part.EMAIL_HTML, ANNA)
    assert check_template(result, field="email_html", html=True) == []


def test_a_template_whose_end_hides_the_footer_is_refused_with_r10():
    source = '<p>Hi {{ unsubscribe_url }}</p><div style="display:none">'
    [problem] = compliance_problems(source, Part.EMAIL_HTML, ANNA)
    assert (problem.rule, problem.code) == ("R10", "footer_hidden")
    with pytest.raises(TemplateError):
        with_compliance_footer(source, Part.EMAIL_HTML, ANNA)


def test_the_text_part_gets_the_footer_at_the_end():
    source = "Hallo {{ first_name }}\nAbmelden: {{ unsubscribe_url }}\n"
    result = with_compliance_footer(source, Part.EMAIL_TEXT, ANNA)
    assert result.startswith(source.rstrip()) and result.endswith(email_footer_text(ANNA) + "\n")
    assert check_template(result, field="email_text") == []


def test_an_sms_gets_the_salon_and_the_free_unsubscribe_notice_counted_in_its_size():
    source = "Hallo {{ first_name }}, -20% im Mai! {{ unsubscribe_url }}"
    result = with_compliance_footer(source, Part.SMS, ANNA)
    text = rendered(result, Part.SMS)
    assert text.endswith(f"\nSalon Anna: Abmelden kostenlos: {URL}")
    assert sms_size(text).units > sms_size(rendered(source, Part.SMS)).units + len(URL)
    assert check_sms(text).size == sms_size(text)
    assert check_template(result, field="sms") == []
    english = rendered(with_compliance_footer(source, Part.SMS, ANNA_EN), Part.SMS)
    assert english.endswith(f"Salon Anna: Unsubscribe free: {URL}")


def test_an_sms_may_use_the_shorter_stop_wording():
    source = "Hallo {{ first_name }} {{ unsubscribe_url }}"
    result = with_compliance_footer(source, Part.SMS, ANNA, sms_style=SmsNotice.STOP)
    assert rendered(result, Part.SMS).endswith(
        "Salon Anna: Abmelden: STOP antworten (nur Basistarif)"
    )
    assert carries_r10(result, Part.SMS, ANNA)


SMS_CARRIED = {
    "link_notice": "{{ salon_name }}: -20%! Abmelden kostenlos: {{ unsubscribe_url }}",
    "english_notice": "Salon Anna: -20%! Unsubscribe free: {{ unsubscribe_url }}",
    "stop_notice": (
        "Salon Anna -20% {{ unsubscribe_url }} Abmelden: STOP antworten (nur Basistarif)"
    ),
}
SMS_NOT_CARRIED = {
    "no_name": "-20%! Abmelden kostenlos: {{ unsubscribe_url }}",
    "notice_away_from_link": "Salon Anna Abmelden kostenlos: bald. {{ unsubscribe_url }}",
    "notice_in_comment": "Salon Anna {# Abmelden kostenlos: #} {{ unsubscribe_url }}",
}


@pytest.mark.parametrize("source", SMS_CARRIED.values(), ids=SMS_CARRIED.keys())
def test_an_sms_that_carries_the_notice_is_not_lengthened(source):
    assert with_compliance_footer(source, Part.SMS, ANNA) == source


@pytest.mark.parametrize("source", SMS_NOT_CARRIED.values(), ids=SMS_NOT_CARRIED.keys())
def test_an_sms_without_name_or_notice_beside_the_link_gets_the_notice(source):
    assert with_compliance_footer(source, Part.SMS, ANNA) == source + sms_notice(ANNA)
