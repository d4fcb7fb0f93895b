"""Dispatcher: the broker set-up and the actors that plan and send campaigns.

Import :mod:`dispatcher.actors` (``dramatiq dispatcher.actors``) to run a worker; actors take ids,
never ORM objects, and are safe to run twice.
"""
