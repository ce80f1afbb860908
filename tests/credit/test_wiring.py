"""Credit sits between agencies and contracts; at start-up (credit/apps.py) it hands agencies its black
list and takes contracts' evaluations. Were either left out, a banned agency would be let through by
the agency pages, or the score would silently ignore the evaluations."""

from agencies import permissions as agency_permissions
from credit import services, standing
from market.contracts import selectors as contract_selectors


def test_agencies_ask_the_credit_black_list():
    assert agency_permissions.standing_check is standing.uscc_refusal


def test_the_score_weighs_the_contracts_evaluations():
    assert services._evaluation_source is contract_selectors.evaluation_average
