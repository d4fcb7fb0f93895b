"""Dispatcher: the broker set-up and the actors that plan and send campaigns.

Import :mod:`dispatcher.actors` (``dramatiq dispatcher.actors``) to run a worker; actors take ids,
never ORM objects, and are safe to run twice.

    broker.py     the one place for brokers (Redis, or in-process), queues and the retry policy
    actors.py     the worker entry: plan_campaign, send_batch, reconcile_campaign, finish_campaign
    runtime.py    what workers need, read from the settings once (the one channel factory,
                  limits, backoff)
    embedded.py   the embedded default: a campaign run to the end in this process
    planning.py   a queued campaign becomes a snapshot of deliveries; batch ranges in SQL
    batch.py      one batch, chunk by chunk: recheck, claim, paced hand-off, fenced record
    batch_run.py  a batch's chunks in a row, quiet hours, when it comes back
    sending.py    pieces shared with single sends: recheck, message builder, outcomes
    pacing.py     rate per sender, SMTP connections, 429 holds, quiet hours (RedisPacer, NoPacing)
    reconcile.py  deliveries in doubt are settled with the provider, never re-sent blindly
    sweep.py      the database decides what is stalled: lost claims, lost queue messages
    control.py    the campaign state machine: pause, resume, cancel, retry-failed, auto-pause,
                  progress and ETA (staff steer through services.steering)
    retention.py  automatic forgetting, run by the scheduler
    queues.py     the figures operators watch: queues, workers, dead letters, send rates
"""
