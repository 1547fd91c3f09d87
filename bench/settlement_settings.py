"""Production settings for the settlement bench, with email recorded instead of sent
(bench/mail_record.py: the lag probe reads when each message went out)."""

from config.settings import *  # noqa: F403

EMAIL_BACKEND = "bench.mail_record.RecordingBackend"
