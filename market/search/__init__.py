"""Search: a domain-free engine that the domains register their document types with (issue 7).

    from market.search.api import search
    result = search(q="环评", kinds=["agency"], filters={"region": "440100"}, facets=["grade"])

registry.py holds the document types (each domain's ``search`` module registers its own: the
agencies, the requests, the catalogue items), documents.py what a type declares, indexing.py keeps
the indexes current from the signals the types ask for, api.py is what pages call.
Nothing is imported here, so that this package can be an installed app.
"""
