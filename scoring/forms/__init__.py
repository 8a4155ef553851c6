"""Scoring forms: weighted, versioned questionnaires; their pure scoring rules (``rules``),
import, export and publishing."""
