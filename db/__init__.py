"""Salonpost data: models, sessions, migrations and the state enums (``db.states``).

Also the data primitives every layer shares: the access log (``access``), the consent log
(``consent``) and forgetting (``forget``). Nothing here imports another Salonpost package.
"""
