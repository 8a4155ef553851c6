"""Role profiles (the level of each competency a role, a queue or a client requires), who holds
which profile, assessments of an agent's level (history kept, never overwritten), and the gaps
between them (``gaps``, pure)."""
