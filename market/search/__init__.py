"""Search across agencies, requests and catalogue items (issue 7).

    from market.search import search
    result = search(q="环评", kinds=["agency"], filters={"region": "440100"}, facets=["grade"])

The functions are imported lazily so that this package can be an installed app.
See api.py for the functions the directory and the request lists use.
"""


def search(**kwargs):
    from .api import search as _search

    return _search(**kwargs)


def agency_directory_search(**kwargs):
    from .api import agency_directory_search as _f

    return _f(**kwargs)


def request_list_search(**kwargs):
    from .api import request_list_search as _f

    return _f(**kwargs)
