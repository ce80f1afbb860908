from django.conf import settings

# The Wagtail and Django admins ship inline scripts; every public and member page gets the strict policy.
CSP_EXEMPT_PREFIXES = ("/admin/", "/django-admin/")
# Swagger UI (served from our own static files) carries one inline <style> block.
CSP_INLINE_STYLE_PREFIXES = ("/api/docs/",)


class ContentSecurityPolicyMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        if request.path.startswith(CSP_EXEMPT_PREFIXES) or "Content-Security-Policy" in response:
            return response
        policy = settings.CONTENT_SECURITY_POLICY
        if request.path.startswith(CSP_INLINE_STYLE_PREFIXES):
            policy = policy.replace("style-src 'self'", "style-src 'self' 'unsafe-inline'")
        response["Content-Security-Policy"] = policy
        return response
