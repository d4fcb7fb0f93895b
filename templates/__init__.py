"""Campaign templates: placeholder catalogue, sandboxed rendering, R1/R2 checks, SMS sizing.

    catalogue.py  the documented placeholders and a sample client
    sandbox.py    the Jinja2 sandbox: render at send time, trial renders at validation time
    analysis.py   R1 (the unsubscribe link really output) and R2 (safe, complete) per template
    sms.py        GSM-7 or UCS-2, characters and segments
    links.py      the signed unsubscribe link behind ``{{ unsubscribe_url }}``
    errors.py, problems.py   what a template check reports

Typical use::

    problems = check_template(body, field="sms")          # at validation time
    text = render(body, context, html=False)              # at send time, per client
    size = sms_size(text)

R10 (sender and objection notice), once per campaign and part, before rendering per client::

    source = with_compliance_footer(source, Part.SMS, Sender(name, address, language="de"))
"""
