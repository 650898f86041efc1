"""`make run-https`: the development certificates, and the app served over TLS with them."""
import shutil
import ssl
import subprocess
import threading
import urllib.request

import pytest
from werkzeug.serving import make_server

from serialapp import devcert

pytestmark = pytest.mark.skipif(shutil.which("openssl") is None, reason="needs openssl")


def sans(cert):
    text = subprocess.run(["openssl", "x509", "-noout", "-ext", "subjectAltName", "-in", str(cert)],
                          capture_output=True, text=True, check=True).stdout
    return text


def test_certificates_are_made_once_and_follow_the_lan_address(tmp_path):
    crt, key = devcert.ensure_certificates(tmp_path, ["localhost", "box.local"], ["192.0.2.10"])
    assert "IP Address:192.0.2.10" in sans(crt) and "DNS:box.local" in sans(crt)
    assert oct(key.stat().st_mode & 0o777) == "0o600"
    assert oct((tmp_path / "ca.key").stat().st_mode & 0o777) == "0o600"
    made = crt.read_bytes(), (tmp_path / "ca.crt").read_bytes()

    devcert.ensure_certificates(tmp_path, ["localhost", "box.local"], ["192.0.2.10"])
    assert (crt.read_bytes(), (tmp_path / "ca.crt").read_bytes()) == made  # kept

    devcert.ensure_certificates(tmp_path, ["localhost", "box.local"], ["192.0.2.77"])
    assert "IP Address:192.0.2.77" in sans(crt)
    assert crt.read_bytes() != made[0]
    assert (tmp_path / "ca.crt").read_bytes() == made[1]  # a phone that trusts the CA still does


def test_the_app_over_https_verifies_against_the_dev_ca(app, tmp_path):
    crt, key = devcert.ensure_certificates(tmp_path, ["localhost"], [])
    server = make_server("127.0.0.1", 0, devcert.OfferCA(app, tmp_path / "ca.crt"),
                         threaded=True, ssl_context=(str(crt), str(key)))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        trust = ssl.create_default_context(cafile=str(tmp_path / "ca.crt"))
        base = f"https://localhost:{server.server_port}"
        with urllib.request.urlopen(base + "/login", context=trust, timeout=10) as r:
            assert r.status == 200 and b"Log in" in r.read()
        with urllib.request.urlopen(base + devcert.CA_PATH, context=trust, timeout=10) as r:
            assert r.read() == (tmp_path / "ca.crt").read_bytes()
    finally:
        server.shutdown()
        thread.join(timeout=5)


def test_banner_lists_phone_addresses():
    text = devcert.banner("0.0.0.0", 5443, ["192.168.1.20"], ["localhost", "box", "box.local"])
    assert "https://192.168.1.20:5443" in text and "https://box.local:5443" in text
    assert "https://192.168.1.20:5443/devcert/ca.crt" in text
