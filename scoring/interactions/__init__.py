"""The interaction pages evaluators work from: list and search, detail with transcript, flag
and evaluations, create, correct, import, and starting an evaluation. The record itself and
its writes are the core's (``qm.interactions``)."""
