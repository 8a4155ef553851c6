"""Notifications: in-app notices (the bell) and their e-mail, sent from an outbox.

The core keeps them because every domain sends them and the core imports no domain: a domain's
service calls ``services.notify`` in its own transaction, so a change rolled back notifies
nobody. E-mail never leaves inside a request: ``qm notifications send`` mails what is due.
"""
