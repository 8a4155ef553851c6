"""Coaching sessions, action items and whether coaching works (issue 14)."""
