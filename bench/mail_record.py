"""The settlement bench's email backend: sends nothing, and appends one line per message
(epoch seconds, recipients, subject) to the file named by BENCH_MAIL_LOG, so the lag probe
can tell when the "confirm your payment" email for its 3-D Secure pledge went out. The
line is written when the worker hands the message to the backend — the moment Django's
SMTP backend would have sent it."""

from __future__ import annotations

import os
import time

from django.core.mail.backends.base import BaseEmailBackend


class RecordingBackend(BaseEmailBackend):
    def send_messages(self, email_messages) -> int:
        path = os.environ.get("BENCH_MAIL_LOG")
        if not path or not email_messages:
            return len(email_messages or [])
        lines = "".join(
            f"{time.time():.3f}\t{','.join(m.to)}\t{m.subject}\n" for m in email_messages
        )
        # One write per call with O_APPEND: lines from several worker processes do not mix.
        fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
        try:
            os.write(fd, lines.encode())
        finally:
            os.close(fd)
        return len(email_messages)
