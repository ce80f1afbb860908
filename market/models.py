"""The models of the `market` app label, gathered from the domain packages that define them.

Django loads an app's models from its ``models`` module; each package under market/ defines its
own (``market.accounts.models``, ``market.catalogue.models`` …) and keeps the ``market`` app label,
so tables and migrations stay where they are. Code imports models from their package, not from here.
"""

from market.core.models import *  # noqa: F401,F403
from market.accounts.models import *  # noqa: F401,F403
from market.calendar.models import *  # noqa: F401,F403
from market.catalogue.models import *  # noqa: F401,F403
from market.requests.models import *  # noqa: F401,F403
from market.contracts.models import *  # noqa: F401,F403
from market.payments.models import *  # noqa: F401,F403
from market.opendata.models import *  # noqa: F401,F403
