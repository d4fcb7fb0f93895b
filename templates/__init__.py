"""Campaign templates: placeholder catalogue, sandboxed rendering, R1/R2 checks, SMS sizing.

Typical use::

    problems = check_template(body, field="sms")          # at validation time
    text = render(body, context, html=False)              # at send time, per client
    size = sms_size(text)
"""
