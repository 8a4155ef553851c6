"""The batch pipeline: audio, transcriber, call metrics, redaction, flagging (to come).

Never imports Flask: it runs in the CLI, a Celery worker or a notebook alike.
"""
