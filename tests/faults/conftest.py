import socket

import pytest
from django.test import Client


@pytest.fixture(autouse=True)
def long_sessions(settings):
    """Tests move server time days ahead; a login must outlive that."""
    settings.SESSION_COOKIE_AGE = 10 * 365 * 24 * 3600


@pytest.fixture
def browser():
    """A client that answers an error in a view the way the server does (a 500 page), instead of
    raising it into the test."""
    return Client(raise_request_exception=False)


@pytest.fixture
def api_client():
    from rest_framework.test import APIClient

    return APIClient(raise_request_exception=False)


@pytest.fixture
def closed_port() -> int:
    """A loopback port nothing listens on."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]
