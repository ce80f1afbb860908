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
    from market.models import Region

    if not Region.objects.exists():
        call_command("load_reference_data", verbosity=0)


@pytest.fixture(scope="module")
def restore_reference_data(django_db_setup, django_db_blocker):
    """Module fixture for modules with transactional tests: reload the reference data after
    the module so later tests find it."""
    yield
    with django_db_blocker.unblock():
        call_command("load_reference_data", verbosity=0)
