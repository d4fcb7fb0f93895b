"""Campaign validation refuses an SMS Twilio would refuse and warns about costly ones (R2)."""

from gate.campaign import CampaignTexts, check_campaign

LINK = "https://salon.example/u/" + "x" * 40


def test_an_sms_of_2072_characters_is_refused_with_the_figure():
    texts = CampaignTexts(sms_body="a" * 2_000 + " Abmelden: {{ unsubscribe_url }}")
    check = check_campaign(texts, sample_unsubscribe_url=LINK)
    assert not check.ok
    [problem] = check.problems
    assert (problem.rule, problem.code) == ("R2", "sms_too_long")
    assert "2,075" in problem.message and "1,600" in problem.message


def test_a_four_segment_sms_is_valid_with_a_warning_in_the_json():
    texts = CampaignTexts(sms_body="a" * 500 + " Abmelden: {{ unsubscribe_url }}")
    check = check_campaign(texts, sample_unsubscribe_url=LINK)
    assert check.ok and check.sms is not None and check.sms.segments == 4
    assert [w["code"] for w in check.as_json()["warnings"]] == ["sms_many_segments"]
