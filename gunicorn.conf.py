"""gunicorn settings for serialapp: `gunicorn app:app` in the repo folder picks this file up.

Every value can be overridden from the environment (SERIALAPP_WORKERS, ...), or on the
command line. The figures behind the defaults are in docs/benchmarks.md (bench/load.py)."""
import os


def _int(name: str, default: int) -> int:
    return int(os.environ.get(name, default))


# Workers: a scan is a few milliseconds of Python plus a database commit, and a photo
# decode is up to DECODE_BUDGET_MS of CPU. Python holds the GIL for most of both, so
# processes, not threads, use the cores: two per core keeps one busy while the other
# waits on a commit's fsync or on PostgreSQL.
workers = _int("SERIALAPP_WORKERS", 2 * (os.cpu_count() or 1))
# gthread with a few threads per worker: keep-alive connections from phones and the load
# balancer stay open without holding a whole process (the sync worker closes every
# connection after one request, so each scan pays a new TCP handshake), and a slow photo
# upload does not stall the scans queued behind it in the same process.
worker_class = os.environ.get("SERIALAPP_WORKER_CLASS", "gthread")
threads = _int("SERIALAPP_THREADS", 2)
bind = os.environ.get("SERIALAPP_BIND", "127.0.0.1:8000")
# Each worker listens on a socket of its own (SO_REUSEPORT) and the kernel deals new
# connections out among them. On one shared socket, whichever worker woke first accepted a
# burst of keep-alive connections (phones coming back online together, or a load balancer
# opening its pool) and kept them: 8 clients on 4 workers were often split 7/1 or 8/0, one
# core worked while the other idled, and scans per second fell by up to half for as long as
# those connections lasted (bench/load.py, docs/benchmarks.md). Set SERIALAPP_REUSE_PORT=0
# to go back to one socket. Caveat (docs/deploy.md): a connection still waiting in the
# queue of a worker that is restarting is reset, unless net.ipv4.tcp_migrate_req=1.
reuse_port = os.environ.get("SERIALAPP_REUSE_PORT", "1").lower() not in ("0", "false", "no")

# A keyed retry may wait up to 25 s for its first attempt (idempotency.WAIT_FOR_FIRST_S),
# and a photo request decodes several images of at most DECODE_BUDGET_MS each: 60 s is far
# above any honest request and still frees a wedged worker within a minute.
timeout = _int("SERIALAPP_TIMEOUT", 60)
# On a restart or deploy, requests in flight (a 100-serial batch) get this long to finish.
graceful_timeout = _int("SERIALAPP_GRACEFUL_TIMEOUT", 30)
# Idle keep-alive connections are kept this long. A load balancer in front should close
# idle connections sooner than this (e.g. nginx upstream keepalive_timeout 4s), so that it
# never sends a request on a connection gunicorn is closing.
keepalive = _int("SERIALAPP_KEEPALIVE", 5)
# Recycle workers now and then so a slow leak (image libraries) cannot grow without bound;
# the jitter keeps them from all restarting at once.
max_requests = _int("SERIALAPP_MAX_REQUESTS", 20000)
max_requests_jitter = _int("SERIALAPP_MAX_REQUESTS_JITTER", 2000)

# The app writes one structured line per request itself (serialapp/requestlog.py: duration,
# user, status); gunicorn's own access log would only repeat it without the user.
accesslog = None
errorlog = "-"
loglevel = os.environ.get("SERIALAPP_LOG_LEVEL", "info")
# Behind a reverse proxy on the same host: trust its X-Forwarded-* headers.
forwarded_allow_ips = os.environ.get("FORWARDED_ALLOW_IPS", "127.0.0.1")
