"""Competency framework and matrices, skills records, training and coaching logs (to come)."""
