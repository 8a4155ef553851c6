"""The review queue and the named flags' pages: what evaluators look at first, why, and how
often each flag is right (issue 16). The flags themselves live in ``transcription.flagging``."""
