from __future__ import annotations

import pytest


@pytest.fixture
def celery_eager():
    """Run Celery tasks inline. Tasks are still only enqueued from on_commit callbacks (run with
    django_capture_on_commit_callbacks(execute=True)), so ordering against commits is real."""
    from config.celery import app

    previous = app.conf.task_always_eager
    app.conf.task_always_eager = True
    yield
    app.conf.task_always_eager = previous
