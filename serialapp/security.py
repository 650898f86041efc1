"""Response headers that limit what a page may load or be framed by, Secure cookies over
https, and trusting a reverse proxy's X-Forwarded-* headers when told to."""
import secrets

from flask import Flask, g, request
from werkzeug.middleware.proxy_fix import ProxyFix

# Only the app's own files: no inline script or style attribute, so injected markup cannot
# run code. blob:/data: images are photos and previews made on the phone; the camera's
# stream is a MediaStream (no URL). Inline <style> elements are allowed only with this
# response's nonce (the report charts' SVG carries its own stylesheet).
_CSP = ("default-src 'self'; script-src 'self'; style-src 'self' 'nonce-{nonce}'; "
        "img-src 'self' data: blob:; media-src 'self' blob:; connect-src 'self'; "
        "worker-src 'self'; manifest-src 'self'; font-src 'self'; object-src 'none'; "
        "base-uri 'self'; form-action 'self'; frame-ancestors 'none'")


def csp_nonce() -> str:
    """This response's nonce for an inline <style> element (one per response)."""
    if "csp_nonce" not in g:
        g.csp_nonce = secrets.token_urlsafe(16)
    return g.csp_nonce


def _headers(response):
    response.headers.setdefault("Content-Security-Policy", _CSP.format(nonce=csp_nonce()))
    response.headers.setdefault("X-Content-Type-Options", "nosniff")
    response.headers.setdefault("X-Frame-Options", "DENY")  # frame-ancestors for old browsers
    response.headers.setdefault("Referrer-Policy", "same-origin")
    return response


def _secure_cookies(response):
    """Over https every cookie is Secure, whatever the config says: the same install is
    reached over plain http on a laptop and over https on the shop floor."""
    if request.is_secure:
        cookies = response.headers.getlist("Set-Cookie")
        if cookies:
            response.headers.remove("Set-Cookie")
            for cookie in cookies:
                if "; secure" not in cookie.lower():
                    cookie += "; Secure"
                response.headers.add("Set-Cookie", cookie)
    return response


def init_app(app: Flask) -> None:
    app.after_request(_headers)
    # Wrapped around process_response, not an after_request function: the session cookie
    # and Flask-Login's remember-me cookie are set after every after_request function ran.
    process_response = app.process_response
    app.process_response = lambda response: _secure_cookies(process_response(response))
    app.jinja_env.globals["csp_nonce"] = csp_nonce
    proxies = app.config.get("TRUST_PROXY", 0)
    if proxies:
        # Behind nginx/Caddy the client address and https come from X-Forwarded-For and
        # X-Forwarded-Proto; trusted only when configured, else anyone could claim them.
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=proxies, x_proto=proxies,
                                x_host=proxies, x_prefix=proxies)
