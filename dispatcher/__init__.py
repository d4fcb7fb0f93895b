"""Dispatcher: the broker set-up and the actors that plan and send campaigns.

Import :mod:`dispatcher.actors` (``dramatiq dispatcher.actors``) to run a worker; actors take ids,
never ORM objects, and are safe to run twice.

    broker.py     the one broker (Redis, or in-process), dead-letter and queue counts
    runtime.py    what workers need, read from the settings once (channels, limits, backoff)
    planning.py   a queued campaign becomes a snapshot of deliveries; batch ranges in SQL
    batch.py      one batch, chunk by chunk: recheck, claim, paced hand-off, fenced record
    sending.py    pieces shared with single sends: recheck, message builder, outcomes
    pacing.py     rate per sender, SMTP connections, 429 holds, quiet hours
    reconcile.py  deliveries in doubt are settled with the provider, never re-sent blindly
    sweep.py      the database decides what is stalled: lost claims, lost queue messages
    control.py    pause, resume, cancel, retry-failed, auto-pause, progress and ETA
    actors.py     plan_campaign, send_batch, reconcile_campaign, finish_campaign
"""
