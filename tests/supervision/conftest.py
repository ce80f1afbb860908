import pytest


@pytest.fixture(autouse=True)
def private_storage_dir(settings, tmp_path):
    """Uploads made by these tests (deliverables) go to a temporary directory."""
    location = tmp_path / "private"
    settings.STORAGES = {**settings.STORAGES, "private": {
        "BACKEND": "django.core.files.storage.FileSystemStorage",
        "OPTIONS": {"location": str(location), "base_url": None}}}
    return location


@pytest.fixture(autouse=True)
def no_stripe(settings):
    settings.STRIPE_SECRET_KEY = ""
    settings.STRIPE_PUBLISHABLE_KEY = ""
    settings.STRIPE_WEBHOOK_SECRET = ""
    settings.STRIPE_API_BASE = ""


@pytest.fixture(autouse=True)
def immediate_tasks(settings):
    """Django's task framework runs tasks at once in tests (as in development)."""
    settings.TASKS = {"default": {"BACKEND": "django_tasks.backends.immediate.ImmediateBackend"}}


@pytest.fixture
def every_kind_emailed_here(settings):
    """No kind left to the originating service's own e-mail: every e-mail goes through notifications."""
    settings.SUPERVISION = {"EMAIL_SENT_BY_SERVICE": []}
