import pytest


@pytest.fixture(autouse=True)
def database_backend(settings):
    """Searches here use the database backend unless a test points ELASTICSEARCH_URL somewhere
    (the live suite uses the environment's cluster), and Elasticsearch starts out "up"."""
    from market.search import backends, indexing

    from market.search.backends import database

    indexing._local.pending = None  # marks of earlier tests' never-committed transactions
    database.bump_generation()  # counts cached by earlier tests (whose index rows were rolled back)
    settings.ELASTICSEARCH_URL = ""
    backends.mark_elasticsearch_up()
    yield
    backends.mark_elasticsearch_up()


@pytest.fixture
def reindex(db):
    """Rebuild the database index from the database (bulk, as rebuild_search_index does)."""
    from market.search import indexing

    def run(*kinds):
        return indexing.rebuild_database(kinds or ("agency", "request", "item"))

    return run


def indexed_agency(name: str, *, items=(), region: str = "440106", grade: str = "A", score: int | None = None,
                   introduction: str = ""):
    """An active agency offering `items` (codes), in `region`, with a credit grade and score."""
    from agencies.models import Agency, AgencyServiceItem
    from market.accounts.models import Organization
    from market.catalogue.models import ServiceItem
    from tests.request_factories import active_agency

    agency = active_agency(name=name)
    Organization.objects.filter(pk=agency.organization_id).update(region_id=region)
    for code in items:
        AgencyServiceItem.objects.create(agency=agency, service_item=ServiceItem.objects.get(code=code),
                                         fee_quote="按收费标准下浮10%")
    default_score = {"A": 95, "B": 80, "C": 65, "D": 40}[grade]
    Agency.objects.filter(pk=agency.pk).update(credit_grade=grade, credit_score=default_score if score is None else score,
                                               introduction=introduction)
    return Agency.objects.select_related("organization").get(pk=agency.pk)
