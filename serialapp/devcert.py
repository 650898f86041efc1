"""`make run-https`: serialapp over https on the local network, for phones.

A phone's browser opens the live camera only on a secure page: https, or http on
localhost. This serves the app over TLS with Werkzeug's development server and prints the
addresses a phone on the same network can open.

On first run it makes, with the `openssl` command line (no Python packages needed):

- a small certificate authority for this computer (``ca.crt``/``ca.key``, ten years), and
- a server certificate signed by it for localhost, this computer's name and its current
  LAN addresses (``server.crt``/``server.key``, 397 days; made again when the addresses
  change or it nears expiry),

kept in ``instance/devcert/``. A phone shows a warning for this certificate the first time;
accepting it is enough for the live camera. To also get offline pages and "Install app"
(service workers refuse untrusted certificates), install the CA on the phone once: this
server offers it at ``/devcert/ca.crt``. See docs/pwa.md.

Development only: the CA key never leaves the instance folder (mode 600); remove the CA
from the phone when you are done. Production runs behind a real certificate
(e.g. a reverse proxy in front of ``gunicorn app:app``).
"""
from __future__ import annotations

import argparse
import ipaddress
import re
import shutil
import socket
import subprocess
import sys
import tempfile
from datetime import datetime, timedelta, timezone
from pathlib import Path

CA_DAYS = 3650
SERVER_DAYS = 397          # the longest validity browsers accept for a server certificate
RENEW_BEFORE = timedelta(days=30)
CA_PATH = "/devcert/ca.crt"


# --------------------------------------------------------------------------- addresses

def lan_addresses() -> list[str]:
    """This machine's IPv4 addresses a phone on the same network could reach, best first."""
    found: list[str] = []
    # The address used to reach other networks: usually the Wi-Fi/Ethernet one. A UDP
    # "connect" sends nothing; it only picks the route.
    for probe in ("192.168.255.255", "10.255.255.255", "172.31.255.255", "8.8.8.8"):
        try:
            with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
                s.connect((probe, 9))
                found.append(s.getsockname()[0])
        except OSError:
            pass
    for command in (["ip", "-o", "-4", "addr", "show"], ["ifconfig"]):
        if shutil.which(command[0]):
            try:
                out = subprocess.run(command, capture_output=True, text=True, timeout=5).stdout
            except (OSError, subprocess.SubprocessError):
                continue
            found += re.findall(r"inet (?:addr:)?(\d+\.\d+\.\d+\.\d+)", out)
            break
    try:
        found += [info[4][0] for info in socket.getaddrinfo(socket.gethostname(), None,
                                                             socket.AF_INET)]
    except OSError:
        pass
    usable = []
    for text in found:
        ip = ipaddress.ip_address(text)
        if ip.is_loopback or ip.is_link_local or ip.is_unspecified or text in usable:
            continue
        usable.append(text)
    # Private (LAN) addresses first: that is what a phone on the Wi-Fi uses.
    return sorted(usable, key=lambda a: not ipaddress.ip_address(a).is_private)


def host_names() -> list[str]:
    name = socket.gethostname().split(".")[0]
    names = ["localhost"]
    if name and name != "localhost" and re.fullmatch(r"[A-Za-z0-9-]+", name):
        names += [name, f"{name}.local"]
    return names


# --------------------------------------------------------------------------- certificates

def _openssl(*args: str, cwd: Path) -> None:
    result = subprocess.run(["openssl", *args], cwd=cwd, capture_output=True, text=True)
    if result.returncode != 0:
        raise SystemExit(f"openssl {args[0]} failed:\n{result.stderr.strip()}")


def _not_after(cert: Path) -> datetime | None:
    result = subprocess.run(["openssl", "x509", "-noout", "-enddate", "-in", str(cert)],
                            capture_output=True, text=True)
    m = re.search(r"notAfter=(.+)", result.stdout)
    if result.returncode != 0 or not m:
        return None
    return datetime.strptime(m.group(1).strip().replace("  ", " "),
                             "%b %d %H:%M:%S %Y %Z").replace(tzinfo=timezone.utc)


def _fresh(cert: Path) -> bool:
    end = _not_after(cert) if cert.exists() else None
    return end is not None and end - datetime.now(timezone.utc) > RENEW_BEFORE


def ensure_certificates(folder: Path, names: list[str], ips: list[str]) -> tuple[Path, Path]:
    """(server.crt, server.key) in `folder`, covering `names` and `ips`; made if needed."""
    if shutil.which("openssl") is None:
        raise SystemExit("`make run-https` needs the openssl command: apt-get install openssl "
                         "(Debian/Ubuntu) or brew install openssl (macOS).")
    folder.mkdir(parents=True, exist_ok=True)
    ca_crt, ca_key = folder / "ca.crt", folder / "ca.key"
    crt, key, san_file = folder / "server.crt", folder / "server.key", folder / "server.san"

    if not (_fresh(ca_crt) and ca_key.exists()):
        host = socket.gethostname().split(".")[0] or "this computer"
        _openssl("req", "-x509", "-new", "-newkey", "rsa:2048", "-nodes", "-sha256",
                 "-days", str(CA_DAYS), "-keyout", ca_key.name, "-out", ca_crt.name,
                 "-subj", f"/O=serialapp development/CN=serialapp dev CA ({host})",
                 "-addext", "basicConstraints=critical,CA:TRUE,pathlen:0",
                 "-addext", "keyUsage=critical,keyCertSign,cRLSign", cwd=folder)
        ca_key.chmod(0o600)
        crt.unlink(missing_ok=True)  # signed by the old CA

    san = ",".join([f"DNS:{n}" for n in names] + ["IP:127.0.0.1"] + [f"IP:{a}" for a in ips])
    if _fresh(crt) and key.exists() and san_file.exists() and san_file.read_text() == san:
        return crt, key

    with tempfile.TemporaryDirectory() as tmp:
        ext = Path(tmp) / "server.ext"
        ext.write_text("basicConstraints=critical,CA:FALSE\n"
                       "keyUsage=critical,digitalSignature,keyEncipherment\n"
                       "extendedKeyUsage=serverAuth\n"
                       f"subjectAltName={san}\n")
        csr = Path(tmp) / "server.csr"
        _openssl("req", "-new", "-newkey", "rsa:2048", "-nodes", "-keyout", key.name,
                 "-out", str(csr), "-subj", "/O=serialapp development/CN=serialapp dev server",
                 cwd=folder)
        key.chmod(0o600)
        serial = "0x" + subprocess.run(["openssl", "rand", "-hex", "16"], capture_output=True,
                                       text=True, check=True).stdout.strip()
        _openssl("x509", "-req", "-in", str(csr), "-CA", ca_crt.name, "-CAkey", ca_key.name,
                 "-set_serial", serial, "-days", str(SERVER_DAYS), "-sha256",
                 "-extfile", str(ext), "-out", crt.name, cwd=folder)
    san_file.write_text(san)
    return crt, key


# --------------------------------------------------------------------------- serving

class OfferCA:
    """WSGI middleware: serves the development CA certificate at /devcert/ca.crt."""

    def __init__(self, app, ca_crt: Path):
        self.app = app
        self.ca_crt = ca_crt

    def __call__(self, environ, start_response):
        if environ.get("PATH_INFO") == CA_PATH:
            body = self.ca_crt.read_bytes()
            start_response("200 OK", [
                ("Content-Type", "application/x-x509-ca-cert"),
                ("Content-Disposition", 'attachment; filename="serialapp-dev-ca.crt"'),
                ("Content-Length", str(len(body))),
            ])
            return [body]
        return self.app(environ, start_response)


def banner(host: str, port: int, addresses: list[str], names: list[str]) -> str:
    if host in ("0.0.0.0", "::", ""):
        phone = [f"https://{a}:{port}" for a in addresses]
        phone += [f"https://{n}:{port}" for n in names if n.endswith(".local")]
    else:
        phone = [f"https://{host}:{port}"]
    lines = [
        "",
        "  serialapp over https, with a development certificate made on this computer.",
        "",
        f"  On this computer:   https://localhost:{port}",
    ]
    if phone:
        lines.append("  On a phone on the same Wi-Fi, open one of:")
        lines += [f"      {url}" for url in phone]
    else:
        lines.append("  No LAN address found: is this computer on the network?")
    lines += [
        "",
        "  The browser warns that the certificate is not trusted. That is expected:",
        "  Chrome: Advanced > Proceed to ... (unsafe).   Safari: Show Details > visit this website.",
        "  Log in (demo: picker / demo1234), open a scan page, press Live camera, allow the camera.",
        "",
        "  For offline pages and 'Install app' too, make the phone trust this computer once:",
        f"  download {phone[0] if phone else f'https://localhost:{port}'}{CA_PATH} and install it",
        "  as a CA certificate (steps in docs/pwa.md). Remove it when you are done.",
        "",
        "  Ctrl-C stops the server.",
        "",
    ]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m serialapp.devcert", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--host", default="0.0.0.0", help="address to listen on (default: all)")
    parser.add_argument("--port", type=int, default=5000)
    parser.add_argument("--cert-only", action="store_true",
                        help="make the certificates and print where they are, then exit")
    args = parser.parse_args(argv)

    from werkzeug.serving import run_simple

    from serialapp.app import create_app

    app = create_app()
    addresses = lan_addresses()
    if args.host not in ("0.0.0.0", "::", "") and args.host not in addresses:
        try:
            ipaddress.ip_address(args.host)
            addresses.append(args.host)
        except ValueError:
            pass
    names = host_names()
    folder = Path(app.instance_path) / "devcert"
    crt, key = ensure_certificates(folder, names, addresses)
    if args.cert_only:
        print(f"certificate: {crt}\nkey:         {key}\nCA:          {folder / 'ca.crt'}")
        return
    print(banner(args.host, args.port, addresses, names), flush=True)
    run_simple(args.host, args.port, OfferCA(app, folder / "ca.crt"),
               ssl_context=(str(crt), str(key)), threaded=True, use_reloader=False)


if __name__ == "__main__":
    main(sys.argv[1:])
