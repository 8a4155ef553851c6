"""Competency frameworks: the competencies of clause 6.3, their levels and behavioural
indicators, versioned like scoring forms (publishing freezes a version)."""
