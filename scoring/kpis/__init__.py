"""Operational KPIs (issue 18): first-contact resolution, speed of answer, abandonment, handle
time, CSAT and NPS, imported from the telephony and survey systems' CSV exports and shown
against their targets beside the QA results of the same team and month."""
