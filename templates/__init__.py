"""Campaign templates: placeholder catalogue, sandboxed rendering, R1/R2 checks, SMS sizing.

Typical use::

    problems = check_template(body, field="sms")          # at validation time
    text = render(body, context, html=False)              # at send time, per client
    size = sms_size(text)

R10 (sender and objection notice), once per campaign and part, before rendering per client::

    source = with_compliance_footer(source, Part.SMS, Sender(name, address, language="de"))
"""

from .analysis import HARMLESS_FILTERS, check_template, outputs_unsubscribe
from .catalogue import PLACEHOLDERS, UNSUBSCRIBE_PLACEHOLDER, Placeholder, sample_context
from .compliance import (
    Part,
    carries_r10,
    compliance_problems,
    sender_problems,
    with_compliance_footer,
)
from .errors import TemplateError, TemplateRenderError
from .footer import Language, Sender, SmsNotice
from .problems import TemplateProblem
from .sandbox import environment, render, trial_render
from .sizes import SmsCheck, check_sms
from .sms import SmsSize, sms_size

__all__ = [
    "HARMLESS_FILTERS",
    "PLACEHOLDERS",
    "UNSUBSCRIBE_PLACEHOLDER",
    "Language",
    "Part",
    "Placeholder",
    "Sender",
    "SmsCheck",
    "SmsNotice",
    "SmsSize",
    "TemplateError",
    "TemplateProblem",
    "TemplateRenderError",
    "carries_r10",
    "check_sms",
    "check_template",
    "compliance_problems",
    "environment",
    "outputs_unsubscribe",
    "render",
    "sample_context",
    "sender_problems",
    "sms_size",
    "trial_render",
    "with_compliance_footer",
]
