"""Campaign templates: placeholder catalogue, sandboxed rendering, R1/R2 checks, SMS sizing.

Typical use::

    problems = check_template(body, field="sms")          # at validation time
    text = render(body, context, html=False)              # at send time, per client
    size = sms_size(text)
"""

from .analysis import HARMLESS_FILTERS, check_template, outputs_unsubscribe
from .catalogue import PLACEHOLDERS, UNSUBSCRIBE_PLACEHOLDER, Placeholder, sample_context
from .errors import TemplateError, TemplateRenderError
from .problems import TemplateProblem
from .sandbox import environment, render, trial_render
from .sms import SmsSize, sms_size

__all__ = [
    "HARMLESS_FILTERS",
    "PLACEHOLDERS",
    "UNSUBSCRIBE_PLACEHOLDER",
    "Placeholder",
    "SmsSize",
    "TemplateError",
    "TemplateProblem",
    "TemplateRenderError",
    "check_template",
    "environment",
    "outputs_unsubscribe",
    "render",
    "sample_context",
    "sms_size",
    "trial_render",
]
