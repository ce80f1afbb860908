"""Settings for the test suite: the production settings with a fresh random SECRET_KEY (the suite runs
with DEBUG off, like production, and production refuses to start without a key of its own). The key is
put in the environment so that servers the tests start (gunicorn, localstripe) share it."""

import os
import secrets

os.environ.setdefault("SECRET_KEY", secrets.token_hex(32))

from .settings import *  # noqa: E402,F401,F403
