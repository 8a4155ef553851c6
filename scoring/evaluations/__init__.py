"""Evaluations: scoring an interaction on a form, release to the agent, acknowledgement and
disputes. What counts as finished or released is defined once, in ``models``."""
