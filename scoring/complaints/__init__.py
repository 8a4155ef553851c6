"""The complaint register (ISO 10002 practice): complaints with their clock, owners, outcomes
and root causes, the working-day calendar, the overdue list and the root-cause trend."""
