def only_public_api(endpoints, **kwargs):
    """The published schema covers the marketplace API, not Wagtail's internal admin API."""
    return [e for e in endpoints if e[0].startswith("/api/v1/")]


URI_TOO_LONG = {
    "description": (
        "URI Too Long: the request line (method, path and query string) is longer than the web server "
        "accepts (gunicorn's limit_request_line, 4094 bytes by default; a reverse proxy may set its own). "
        "The server answers before the application sees the request, so the body is the server's own text, "
        "not the API's JSON error. Shorten the filters or the path."
    ),
}


TOO_MANY_REQUESTS = {
    "description": (
        "Too Many Requests: the client address (anonymous calls) or the user sent more calls than the API's "
        "rate allows (API_ANON_RATE, API_USER_RATE; log-ins and sign-ups have their own). The body is the "
        "API's JSON error with code `throttled`; the Retry-After header gives the seconds to wait."
    ),
    "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}},
}


def document_uri_too_long(result, generator, request, public):
    """Every operation may be answered 414 by the web server in front of the application, and 429 by the
    API's throttles (market/api/throttling.py): say so in the schema (a postprocessing hook, see
    SPECTACULAR_SETTINGS). The application itself bounds what it reads and answers 400 with the field;
    414 only covers what never reaches it."""
    has_error = "Error" in result.get("components", {}).get("schemas", {})
    for path_item in result.get("paths", {}).values():
        for operation in path_item.values():
            if isinstance(operation, dict) and "responses" in operation:
                operation["responses"].setdefault("414", dict(URI_TOO_LONG))
                if has_error:
                    operation["responses"].setdefault("429", dict(TOO_MANY_REQUESTS))
    return result
