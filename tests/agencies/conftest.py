import pytest


@pytest.fixture(autouse=True)
def private_storage_dir(settings, tmp_path):
    """Uploads of these tests go to a temporary directory, never to the project's private_media."""
    location = tmp_path / "private"
    settings.STORAGES = {**settings.STORAGES, "private": {
        "BACKEND": "django.core.files.storage.FileSystemStorage",
        "OPTIONS": {"location": str(location), "base_url": None}}}
    return location


@pytest.fixture
def api():
    from rest_framework.test import APIClient

    return APIClient()


@pytest.fixture(autouse=True)
def english_messages(settings):
    """These tests read the English wording of messages (the Chinese is checked elsewhere)."""
    from django.utils import translation

    settings.LANGUAGE_CODE = "en"
    with translation.override("en"):
        yield
