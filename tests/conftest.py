import pytest
from django.core.management import call_command


@pytest.fixture(scope="session")
def django_db_setup(django_db_setup, django_db_blocker):
    """Load the shipped reference data (regions, catalogue) once for the whole session."""
    with django_db_blocker.unblock():
        call_command("load_reference_data", verbosity=0)


@pytest.fixture(autouse=True)
def _english_off(settings):
    settings.LANGUAGE_CODE = "zh-hans"
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    settings.STORAGES = {**settings.STORAGES, "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"}}


@pytest.fixture
def regulator(db):
    from tests.factories import make_regulator

    return make_regulator()


@pytest.fixture
def owner_org(db):
    from tests.factories import make_owner

    return make_owner(verified=True)


@pytest.fixture
def reference_data_tx(transactional_db, django_db_blocker):
    """For transaction=True tests: the flush after each such test removes the reference data,
    so load it (committed) when it is missing."""
    from market.accounts.models import Region

    if not Region.objects.exists():
        call_command("load_reference_data", verbosity=0)


@pytest.fixture(scope="module")
def restore_reference_data(django_db_setup, django_db_blocker):
    """Module fixture for modules with transactional tests: reload the reference data after
    the module so later tests find it."""
    yield
    with django_db_blocker.unblock():
        call_command("load_reference_data", verbosity=0)


@pytest.fixture(autouse=True)
def _search_index_follows_requests():
    """Pages that list through the search (the directory, the request lists) read the search index,
    which is written when a transaction commits. A test runs inside one transaction that never
    commits, so write what the test marked when it sends a request through the test client — as a
    real commit would have done before the next request. Counts cached by earlier tests (whose
    index rows were rolled back) are forgotten."""
    from django.core.signals import request_started

    from market.search import indexing
    from market.search.backends import database

    indexing._local.pending = None
    database.bump_generation()

    def flush(**kwargs):
        if indexing._local.__dict__.get("pending"):
            indexing.flush_pending()

    request_started.connect(flush, dispatch_uid="tests-search-flush")
    yield
    request_started.disconnect(dispatch_uid="tests-search-flush")


@pytest.fixture(autouse=True)
def private_storage_dir(settings, tmp_path):
    """Uploads made by tests (licences, certificates, deliverables) go to a temporary directory,
    never to the project's private_media."""
    location = tmp_path / "private"
    settings.STORAGES = {**settings.STORAGES, "private": {
        "BACKEND": "django.core.files.storage.FileSystemStorage",
        "OPTIONS": {"location": str(location), "base_url": None}}}
    return location


@pytest.fixture(autouse=True)
def no_stripe(settings):
    """Unless a test configures Stripe, the site runs without it (payment "offline")."""
    settings.STRIPE_SECRET_KEY = ""
    settings.STRIPE_PUBLISHABLE_KEY = ""
    settings.STRIPE_WEBHOOK_SECRET = ""
    settings.STRIPE_API_BASE = ""


@pytest.fixture(autouse=True)
def _fresh_cache():
    """Each test starts with an empty cache: throttle windows, lockout counters and cached pages of an
    earlier test do not leak into the next."""
    from django.core.cache import cache

    cache.clear()
