"""Transcription: audio, speech to text, timeline, metrics, redaction, the pipeline and its
workers, chats' and e-mails' redaction, and flagging (see "How the code is laid out" in the
README).

Never imports Flask: it runs in the CLI, a Celery worker or a notebook alike. Its settings come
from ``qm.config.Settings`` through ``transcription.settings``.
"""

