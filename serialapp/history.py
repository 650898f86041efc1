"""Checking the event history for edits made behind the app's back, and the signed
checkpoint that pins it.

Each serial's events are a hash chain (chain.py) whose last hash the serial keeps. That
alone catches an edit that leaves the hashes as they were: a rewritten who or when, an
event inserted or deleted by hand. Someone who recomputes the hashes (the encoding is no
secret) is caught by the checkpoint: a file, outside the database, signed with HMAC-SHA256
under a key that is not in the database either, listing every serial (id, product, serial
text, head) as it stood. A later history must still pass through each checkpointed head;
only events appended since may follow it, and a serial in the checkpoint must still exist.

The checkpoint file:

    serialapp-history-checkpoint 1
    {"at": ..., "serials": ..., "events": ..., "products": {id: sku}, "database": {...},
     "body_sha256": ...}
    hmac-sha256 <hex of HMAC(key, the two lines above)>
    <zlib stream: one JSON line [serial_id, product_id, head, serial] per serial, by id>

Why a list of every serial rather than one digest over them: a digest says that
something changed, the list says which serial was deleted, by name, even when its row and
every event of it are gone. Compressed it is about 50 bytes a serial (the head's 32 bytes
of entropy do not compress), 49 MB at a million serials, read and written as a stream.

A checkpoint names the database it was taken of ("database", see database_identity): the
key and checkpoint files live in the instance folder, not in the database, so an app
pointed at another database (a fresh one, another shop's) would otherwise read every
checkpointed serial as deleted. Checkpoints written before it was named verify as before.

Flask-free: the CLI (cli.py) passes a connection and the two paths."""
import hashlib
import hmac
import json
import os
import secrets
import zlib
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from itertools import groupby
from pathlib import Path

from sqlalchemy import URL, select, text, type_coerce
from sqlalchemy.types import NullType
from sqlalchemy.engine import Connection

from . import chain
from .config import write_once
from .models import Event, Product, Serial, utcnow

MAGIC = b"serialapp-history-checkpoint 1\n"
# An event the checkpoint did not hold may still be dated a little before it: the step
# stamped it, then committed after the checkpoint's snapshot was taken. Anything dated
# longer before was not written by the app after the checkpoint.
CLOCK_MARGIN = timedelta(minutes=5)
_ROWS = 5000  # rows fetched at a time from each stream

_EVENT_FIELDS = [name for name in chain.FIELDS if name not in ("product_id", "serial")]
# Where things are in an events row: id, then _EVENT_FIELDS in order, then hash and prev.
_REST = slice(2, 1 + len(_EVENT_FIELDS))  # the fields after serial_id, product and serial
_AT = 1 + _EVENT_FIELDS.index("at")
_HASH, _PREV = 1 + len(_EVENT_FIELDS), 2 + len(_EVENT_FIELDS)


# ---------------------------------------------------------------- the key

def load_key(path: str | os.PathLike, *, create: bool = False) -> bytes | None:
    """The checkpoint key from its file; with `create`, made once (owner-only, 0600) if
    there is none. None when the file is missing and not to be created."""
    path = Path(path)
    if create:
        return write_once(path, lambda: secrets.token_hex(32)).encode()
    try:
        return path.read_text().strip().encode()
    except FileNotFoundError:
        return None


# ---------------------------------------------------------------- findings

@dataclass(frozen=True)
class Finding:
    kind: str      # what was found: a short code, for tests and scripts
    message: str   # what was found, in words, naming the serial and event

    def __str__(self) -> str:
        return self.message


@dataclass
class Report:
    serials: int = 0
    events: int = 0
    findings: list[Finding] = field(default_factory=list)
    checkpoint_at: datetime | None = None

    @property
    def clean(self) -> bool:
        return not self.findings


@dataclass(frozen=True)
class Entry:
    """One serial as a checkpoint holds it."""
    serial_id: int
    product_id: int
    head: str | None
    serial: str


# ---------------------------------------------------------------- the checkpoint file

class CheckpointError(Exception):
    """A checkpoint file that is not what the key signed: the message says how."""


@dataclass
class Checkpoint:
    path: Path
    header: dict
    body_offset: int
    digest: str  # sha256 of the whole file: what the next checkpoint names as its previous

    @property
    def at(self) -> datetime:
        return datetime.fromisoformat(self.header["at"])

    @property
    def database(self) -> dict | None:
        """The identity of the database it was taken of; None in an older checkpoint."""
        return self.header.get("database")

    @property
    def products(self) -> dict[int, str]:
        return {int(k): v for k, v in self.header.get("products", {}).items()}

    @classmethod
    def read(cls, path: str | os.PathLike, key: bytes) -> "Checkpoint":
        """The checkpoint at `path`, its signature and body checked against `key`."""
        path = Path(path)
        with open(path, "rb") as file:
            magic = file.readline()
            header_line = file.readline()
            signature_line = file.readline()
            offset = file.tell()
            if magic != MAGIC or not signature_line.startswith(b"hmac-sha256 "):
                raise CheckpointError(f"{path} is not a history checkpoint")
            expected = hmac.new(key, magic + header_line, hashlib.sha256).hexdigest()
            if not hmac.compare_digest(signature_line[12:].strip().decode("ascii", "replace"),
                                       expected):
                raise CheckpointError(f"{path} is not signed by the history key: forged, "
                                      "altered, or signed with another key")
            header = json.loads(header_line)
            body, whole = hashlib.sha256(), hashlib.sha256(magic + header_line + signature_line)
            while chunk := file.read(1 << 20):
                body.update(chunk)
                whole.update(chunk)
        if body.hexdigest() != header.get("body_sha256"):
            raise CheckpointError(f"the serial list in {path} was altered after it was signed")
        return cls(path, header, offset, whole.hexdigest())

    def entries(self):
        """Every serial it holds, by id, streamed."""
        unzip = zlib.decompressobj()
        rest = b""
        with open(self.path, "rb") as file:
            file.seek(self.body_offset)
            while True:
                chunk = file.read(1 << 20)
                data = rest + (unzip.decompress(chunk) if chunk else unzip.flush())
                lines = data.split(b"\n")
                rest = lines.pop()
                for line in lines:
                    serial_id, product_id, head, serial = json.loads(line)
                    yield Entry(serial_id, product_id, head, serial)
                if not chunk:
                    return


class CheckpointWriter:
    """Collects a checkpoint's serials (in id order) into a temporary file beside `path`,
    then signs and puts it in place in one rename: a reader sees the old checkpoint or the
    new one, never half of one."""

    def __init__(self, path: str | os.PathLike):
        self.path = Path(path)
        self.body_path = self.path.with_name(f"{self.path.name}.{os.getpid()}."
                                             f"{secrets.token_hex(4)}.body")
        self._file = open(os.open(self.body_path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600),
                          "wb")
        self._zip = zlib.compressobj(6)
        self._sha = hashlib.sha256()
        self._pending: list[bytes] = []
        self.count = 0

    def add(self, serial_id: int, product_id: int, head: str | None, serial: str) -> None:
        self._pending.append(json.dumps([serial_id, product_id, head, serial],
                                        ensure_ascii=False).encode("utf-8", "surrogatepass"))
        self.count += 1
        if len(self._pending) >= 4096:
            self._flush()

    def _flush(self) -> None:
        if self._pending:
            self._write(self._zip.compress(b"\n".join(self._pending) + b"\n"))
            self._pending = []

    def _write(self, data: bytes) -> None:
        self._sha.update(data)
        self._file.write(data)

    def commit(self, key: bytes, header: dict) -> str:
        """Sign and put in place; returns the new file's sha256."""
        self._flush()
        self._write(self._zip.flush())
        self._file.close()
        header = {**header, "body_sha256": self._sha.hexdigest()}
        header_line = json.dumps(header, sort_keys=True).encode() + b"\n"
        signature = hmac.new(key, MAGIC + header_line, hashlib.sha256).hexdigest()
        head = MAGIC + header_line + f"hmac-sha256 {signature}\n".encode()
        whole = hashlib.sha256(head)
        tmp = self.path.with_name(self.body_path.name[:-5] + ".tmp")
        with open(os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600), "wb") as out, \
                open(self.body_path, "rb") as body:
            out.write(head)
            while chunk := body.read(1 << 20):
                whole.update(chunk)
                out.write(chunk)
            out.flush()
            os.fsync(out.fileno())
        os.replace(tmp, self.path)
        self.body_path.unlink(missing_ok=True)
        _fsync_dir(self.path.parent)
        return whole.hexdigest()

    def discard(self) -> None:
        if not self._file.closed:
            self._file.close()
        self.body_path.unlink(missing_ok=True)


def _fsync_dir(path: Path) -> None:
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


# ---------------------------------------------------------------- which database

def database_identity(conn: Connection) -> dict:
    """What tells this database from another, without a table of its own for it (an id
    kept in the database would need a migration). Marks an edit in SQL cannot change:
    on PostgreSQL, the cluster's system identifier (made by initdb) and the database's
    oid, which a database dropped and made again, or restored from a dump, does not keep;
    on SQLite, the file's path and inode, which a file deleted and made again, or a copy
    put in its place, does not keep. The URL (its password and query left out) is there
    to name it in words: alone it would be weak, as a fresh database can sit at the old
    URL, and one database can be reached by several."""
    url = conn.engine.url
    # Made anew rather than set(): set() takes password=None as "keep it".
    shown = URL.create(url.get_backend_name(), username=url.username, host=url.host,
                       port=url.port, database=url.database)
    identity = {"url": shown.render_as_string(hide_password=False)}
    if conn.dialect.name == "postgresql":
        cluster, oid = conn.execute(text(
            "SELECT (SELECT system_identifier FROM pg_control_system())::text, oid::bigint "
            "FROM pg_database WHERE datname = current_database()")).one()
        identity.update(cluster=cluster, oid=int(oid))
    elif conn.dialect.name == "sqlite" and url.database and url.database != ":memory:" \
            and not url.database.startswith("file:"):
        path = Path(url.database).resolve()
        identity.update(url=f"sqlite:///{path}", file=str(path), inode=path.stat().st_ino)
    return identity


def _same_database(theirs: dict, ours: dict) -> bool:
    marks = (theirs.keys() | ours.keys()) - {"url"}
    if not marks:  # nothing but a URL to go by (an in-memory SQLite, another kind)
        return theirs.get("url") == ours.get("url")
    return all(theirs.get(mark) == ours.get(mark) for mark in marks)


def _in_words(identity: dict) -> str:
    marks = {"cluster": "cluster {}", "oid": "database oid {}", "inode": "inode {}"}
    return ", ".join([identity.get("url", "?")] + [
        form.format(identity[mark]) for mark, form in marks.items() if mark in identity])


def _taken_of_another(checkpoint: "Checkpoint", here: dict) -> Finding | None:
    """A finding when `checkpoint` names a database other than `here`: its serials are
    another database's, not this one's deleted ones. An older checkpoint names none."""
    theirs = checkpoint.database
    if theirs is None or _same_database(theirs, here):
        return None
    return Finding("other_database",
                   f"The checkpoint {checkpoint.path} was taken of another database "
                   f"({_in_words(theirs)}), not of this one ({_in_words(here)}): if this one "
                   "is now the shop's (restored, moved or new), run `flask --app app "
                   "checkpoint-history --accept` to start its checkpoints; if not, point "
                   "DATABASE_URL, or --checkpoint, at the right one.")


# ---------------------------------------------------------------- the audit

def _label(sku: str | None, serial: str, serial_id: int) -> str:
    return f"{sku or '?'} {serial} (serial id {serial_id})"


def _moment(value) -> datetime | None:
    """An event's time as naive UTC, read raw (SQLite keeps text); None if it names none."""
    if isinstance(value, str):
        try:
            value = datetime.fromisoformat(value)
        except ValueError:
            return None
    if value.tzinfo is not None:
        value = value.astimezone(timezone.utc).replace(tzinfo=None)
    return value


def _when(at) -> str:
    moment = _moment(at)
    return moment.strftime("%Y-%m-%d %H:%M:%S UTC") if moment else repr(at)


def _peek(iterator):
    return next(iterator, None)


def _snapshot(conn: Connection) -> Connection:
    """Begin one read transaction, so every query sees the same moment."""
    if conn.dialect.name == "postgresql":
        conn = conn.execution_options(isolation_level="REPEATABLE READ")
        conn.begin()
    else:
        conn.begin()
        conn.exec_driver_sql("BEGIN")  # pysqlite would not begin before a SELECT
    return conn


def _raw(name: str):
    """An events column as the driver gives it: a time or flag that SQLite holds as text
    no SQLAlchemy type can read (an edit) must be reported, not crash the check."""
    column = getattr(Event, name)
    return type_coerce(column, NullType()).label(name) if name in ("at", "warranty_return") \
        else column


def audit(conn: Connection, checkpoint: Checkpoint | None,
          writer: CheckpointWriter | None = None) -> Report:
    """Recompute every serial's chain from its events, in event-id order, and compare it
    with the serial's head, its current state and `checkpoint`. Streams the serials, the
    events (by serial, then id) and the checkpoint side by side, so memory stays the same
    at any size. With `writer`, every serial as it is now goes into a new checkpoint."""
    report = Report(checkpoint_at=checkpoint.at if checkpoint else None)
    skus = dict(conn.execute(select(Product.id, Product.sku)).all())
    if checkpoint is not None:
        skus = {**checkpoint.products, **skus}
    streaming = {"stream_results": True, "yield_per": _ROWS}
    serials = conn.execution_options(**streaming).execute(
        select(Serial.id, Serial.product_id, Serial.serial, Serial.history_head, Serial.status,
               Serial.location_id).order_by(Serial.id))
    events = conn.execution_options(**streaming).execute(
        select(Event.id, *(_raw(name) for name in _EVENT_FIELDS), Event.hash,
               Event.prev).order_by(Event.serial_id, Event.id))
    serial_rows = iter(serials)
    groups = groupby(events, key=lambda row: row.serial_id)
    entries = checkpoint.entries() if checkpoint is not None else iter(())
    s, g, c = _peek(serial_rows), _peek(groups), _peek(entries)
    while s is not None or g is not None or c is not None:
        sid = min(x for x in (s and s.id, g and g[0], c and c.serial_id) if x is not None)
        row = s if s is not None and s.id == sid else None
        history = list(g[1]) if g is not None and g[0] == sid else []
        entry = c if c is not None and c.serial_id == sid else None
        if row is not None:
            report.serials += 1
            if writer is not None:
                writer.add(row.id, row.product_id, row.history_head, row.serial)
            s = _peek(serial_rows)
        if history:
            g = _peek(groups)
        if entry is not None:
            c = _peek(entries)
        report.events += len(history)
        finding = _check_serial(row, history, entry, checkpoint, skus)
        if finding is not None:
            report.findings.append(finding)
    return report


def _check_serial(row, history: list, entry: Entry | None, checkpoint: Checkpoint | None,
                  skus: dict) -> Finding | None:
    """The first thing wrong with one serial's history, if anything. The hot loop of the
    check (once per event): names and messages are made only for a finding."""
    if row is None:
        if entry is not None:
            left = f"; {len(history)} of its events are still there" if history else \
                ", with every event of it"
            name = _label(skus.get(entry.product_id), entry.serial, entry.serial_id)
            return Finding("deleted", f"{name} was deleted behind the app's back: it is in the "
                                      f"checkpoint of {_when(checkpoint.at)} but not in the "
                                      f"database{left}")
        ids = ", ".join(str(e.id) for e in history[:5]) + (" ..." if len(history) > 5 else "")
        return Finding("orphan", f"events {ids} belong to serial id {history[0].serial_id}, "
                                 "which is not in the database")
    serial_id, product_id, serial = row.id, row.product_id, row.serial

    def label() -> str:
        return _label(skus.get(product_id), serial, serial_id)

    def what(event) -> str:
        return f"event {event.id} ({event.type}, {_when(event.at)}) of {label()}"

    if entry is not None and (entry.product_id, entry.serial) != (product_id, serial):
        return Finding("renamed", f"{label()} was "
                       f"{_label(skus.get(entry.product_id), entry.serial, entry.serial_id)} at "
                       f"the checkpoint of {_when(checkpoint.at)}: changed behind the app's back")
    pinned = entry.head if entry is not None else None
    reached = pinned is None  # the history has passed through the checkpointed head
    not_before = checkpoint.at - CLOCK_MARGIN if checkpoint is not None else None
    running = None
    event_hash, link = chain.event_hash, chain.link
    for event in history:
        stored = event[_HASH]
        if stored is None:
            return Finding("unchained", f"{what(event)} is not chained: it was written behind "
                                        "the app's back")
        if event[_PREV] != link(running):
            before = "before it" if running is not None else "before it (it is not the first)"
            return Finding("missing", f"event(s) of {label()} missing {before}: {what(event)} "
                                      "does not follow the event before it")
        if event_hash(running, serial_id, product_id, serial, *event[_REST]) != stored:
            return Finding("altered", f"{what(event)} was altered: what it records (who, when, "
                                      "what, where) no longer matches its hash")
        if reached and not_before is not None and \
                (_moment(event[_AT]) or datetime.min) < not_before:
            return Finding("backdated", f"{what(event)} is dated before the checkpoint of "
                           f"{_when(checkpoint.at)} but was not in it: written behind the "
                           "app's back")
        running = stored
        if not reached and running == pinned:
            reached = True
    if row.history_head != running:
        if running is None:
            return Finding("all_missing", f"every event of {label()} is missing: its head "
                                          "says it has a history")
        if row.history_head is None:
            return Finding("head", f"{label()} has lost its head (the hash of its last event)")
        return Finding("missing", f"the last event(s) of {label()} are missing, or its head "
                                  f"was changed: its head is not the hash of its last event "
                                  f"{history[-1].id}")
    if not history:
        if entry is not None and entry.head is not None:
            return Finding("all_missing", f"every event of {label()} is missing")
        return Finding("no_events", f"{label()} has no events: it was not received through "
                                    "the app")
    if not reached:
        return Finding("rewritten", f"the history of {label()} was rewritten: it no longer "
                                    f"passes through its state at the checkpoint of "
                                    f"{_when(checkpoint.at)}")
    last = history[-1]
    if row.status != last.to_status or row.location_id != last.to_location_id:
        return Finding("state", f"{label()} is {row.status} at location "
                                f"{row.location_id or 'none'}, but its history leaves it "
                                f"{last.to_status} at location {last.to_location_id or 'none'}: "
                                "changed behind the app's back")
    return None


# ---------------------------------------------------------------- what the CLI runs

def verify(conn: Connection, checkpoint_path, key_path) -> Report:
    """The whole check: the checkpoint's signature, then every chain against it."""
    problems = []
    checkpoint = None
    key = load_key(key_path)
    if not Path(checkpoint_path).exists():
        problems.append(Finding("no_checkpoint", f"no checkpoint at {checkpoint_path}: a serial "
                                "deleted with its events cannot be seen without one (make one "
                                "with `flask --app app checkpoint-history`)"))
    elif key is None:
        problems.append(Finding("no_key", f"no history key at {key_path}: the checkpoint's "
                                          "signature cannot be checked"))
    else:
        try:
            checkpoint = Checkpoint.read(checkpoint_path, key)
        except (CheckpointError, ValueError, zlib.error) as exc:
            problems.append(Finding("forged", f"the checkpoint cannot be trusted: {exc}"))
    conn = _snapshot(conn)
    if checkpoint is not None:
        other = _taken_of_another(checkpoint, database_identity(conn))
        if other is not None:  # its serials are not this database's: the chains alone
            problems.append(other)
            checkpoint = None
    report = audit(conn, checkpoint)
    report.findings[:0] = problems
    return report


def make_checkpoint(conn: Connection, checkpoint_path, key_path, *, accept: bool = False,
                    new_key_path=None) -> tuple[Report, str | None]:
    """Check the history against the last checkpoint and, if it is intact (or `accept`),
    write a new checkpoint of it: one pass, one snapshot. Returns the report and the new
    file's sha256 (None when refused). A checkpoint never vouches for a history that fails
    the check unless told to: it would make an edit look like the truth. With
    `new_key_path`, the last checkpoint is checked with the current key and the new one is
    signed with the new key (made if missing): how the key is rotated."""
    key = load_key(key_path, create=new_key_path is None)
    if key is None:
        raise CheckpointError(f"no history key at {key_path}")
    signing_key = load_key(new_key_path, create=True) if new_key_path else key
    problems, previous = [], None
    if Path(checkpoint_path).exists():
        try:
            previous = Checkpoint.read(checkpoint_path, key)
        except (CheckpointError, ValueError, zlib.error) as exc:
            problems.append(Finding("forged", f"the last checkpoint cannot be trusted: {exc}"))
    at = utcnow()
    writer = CheckpointWriter(checkpoint_path)
    try:
        conn = _snapshot(conn)
        here = database_identity(conn)
        other = _taken_of_another(previous, here) if previous is not None else None
        if other is not None:
            problems.append(other)
        report = audit(conn, None if other else previous, writer)
        report.findings[:0] = problems
        if report.findings and not accept:
            writer.discard()
            return report, None
        products = dict(conn.execute(select(Product.id, Product.sku)).all())
        digest = writer.commit(signing_key, {
            "at": at.isoformat(), "serials": report.serials, "events": report.events,
            "products": {str(k): v for k, v in sorted(products.items())}, "database": here,
            "previous": previous.digest if previous else None,
            "accepted": [f.message for f in report.findings[:100]]})
    except BaseException:
        writer.discard()
        raise
    return report, digest
