import pytest


@pytest.fixture(autouse=True)
def immediate_tasks(settings):
    """Django's task framework runs tasks at once in tests (as in development)."""
    settings.TASKS = {"default": {"BACKEND": "django_tasks.backends.immediate.ImmediateBackend"}}


@pytest.fixture
def every_kind_emailed_here(settings):
    """No kind left to the originating service's own e-mail: every e-mail goes through notifications."""
    settings.SUPERVISION = {"EMAIL_SENT_BY_SERVICE": []}
