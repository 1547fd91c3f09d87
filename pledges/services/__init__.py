"""Writes and state transitions for pledges, split by concern (as pretix splits its services).

- transitions: the pledge state machine; the only place a pledge's status changes.
- pledging: creating, changing, activating and canceling pledges (the supporter's side).
- settlement: freezing campaigns, charging, retries, reconciliation, refunds (the money side).
"""
