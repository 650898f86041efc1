"""`flask --app app users create|disable|reset-password`, `tokens issue|list|revoke`,
`purge`, `seed`, `import`, `verify-history`, `checkpoint-history`."""
import click
from flask import Flask, current_app
from flask.cli import with_appcontext
from sqlalchemy import select

from . import auth, importing, lifecycle
from .extensions import db
from .models import User


def register(app: Flask) -> None:
    app.cli.add_command(users)
    app.cli.add_command(tokens)
    app.cli.add_command(seed)
    app.cli.add_command(import_file)
    app.cli.add_command(purge)
    app.cli.add_command(verify_history)
    app.cli.add_command(checkpoint_history)


@click.group(help="Manage users.")
def users():
    pass


@users.command("create")
@click.argument("name")
@click.option("--role", type=click.Choice(lifecycle.ROLES), required=True)
@click.option("--password", required=True, prompt=True, hide_input=True,
              confirmation_prompt=True)
def create_user(name, role, password):
    try:
        user = auth.create_user(name, role, password)
    except ValueError as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(f"created {user.role} {user.name}")


def _user_named(name: str) -> User:
    user = db.session.scalar(select(User).where(User.name == name))
    if user is None:
        raise click.ClickException(f"no user {name}")
    return user


@users.command("disable", help="Stop a user logging in; ends their sessions and revokes "
                               "their API tokens.")
@click.argument("name")
def disable_user(name):
    user = _user_named(name)
    auth.disable_user(user)
    click.echo(f"disabled {name}: sessions ended, API tokens revoked")


@users.command("reset-password", help="Set a new password; ends the user's sessions and "
                                      "revokes their API tokens.")
@click.argument("name")
@click.option("--password", required=True, prompt=True, hide_input=True,
              confirmation_prompt=True)
def reset_password(name, password):
    user = _user_named(name)
    try:
        auth.set_password(user, password)
    except ValueError as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(f"new password set for {name}: sessions ended, API tokens revoked")


@click.group(help="Manage API tokens.")
def tokens():
    pass


@tokens.command("issue")
@click.argument("name")
def issue(name):
    user = _user_named(name)
    click.echo(f"token for {name} (shown once; store it safely):")
    click.echo(auth.issue_token(user))


@tokens.command("list", help="A user's API tokens (the tokens themselves are not kept).")
@click.argument("name")
def list_tokens(name):
    user = _user_named(name)
    rows = auth.tokens_of(user)
    if not rows:
        click.echo(f"{name} has no API tokens")
    for token in rows:
        state = "revoked" if token.revoked else "active"
        click.echo(f"{token.id}\t{state}\tissued {token.created_at:%Y-%m-%d %H:%M} UTC")


@tokens.command("revoke", help="Revoke one API token by its ID (see `tokens list`).")
@click.argument("token_id", type=int)
def revoke_token(token_id):
    try:
        token = auth.revoke_token(token_id)
    except ValueError as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(f"revoked token {token_id} of {token.user.name}")


@click.command(help="Delete idempotency records (and their steps) older than the given "
                    "number of days; retries that late are not expected.")
@click.option("--days", type=click.IntRange(min=1), default=30, show_default=True)
def purge(days):
    from .housekeeping import purge_old
    done = purge_old(days)
    click.echo(f"purged {done['records']} idempotency records, {done['steps']} steps, "
               f"{done['login_failures']} old failed logins")


@click.command(help="Add demo data, only if the database has no products yet.")
def seed():
    from .seed import seed_demo
    click.echo(seed_demo())


@click.command("import", help="Import a CSV file of serials (opening stock), products or "
                              "customers: every row is checked, then the good ones applied.")
@click.argument("path", type=click.Path(exists=True, dir_okay=False))
@click.option("--kind", type=click.Choice(sorted(importing.KINDS)),
              help="What the file holds (guessed from its columns if not given).")
@click.option("--user", "user_name", default=None,
              help="Whose name the receive events carry (default: the first admin).")
@click.option("--check", is_flag=True, help="Only check the rows; change nothing.")
@with_appcontext
def import_file(path, kind, user_name, check):
    from pathlib import Path

    from .errors import RequestError
    data = Path(path).read_bytes()
    query = select(User).where(User.name == user_name) if user_name else \
        select(User).where(User.role == lifecycle.ADMIN_ROLE).order_by(User.id)
    user = db.session.scalars(query).first()
    if user is None:
        raise click.ClickException(f"no user {user_name}" if user_name else
                                   "no admin user: create one, or name one with --user")
    try:
        if check:
            done = importing.check(data, kind)
        else:
            total = importing.check(data, kind).good
            with click.progressbar(length=total, label="Importing", show_pos=True) as bar:
                done = importing.apply(data, kind, user.id, user.role, progress=bar.update)
    except RequestError as exc:
        raise click.ClickException(exc.message) from None
    for row in done.rows:
        if not row.ok:
            click.echo(f"line {row.line}: {row.message}")
    verb = "ready" if check else "applied"
    click.echo(f"{done.kind}: {done.good} {verb}, {len(done.rows) - done.good} refused")
    if done.good < len(done.rows):
        raise SystemExit(1)


def _history_paths(checkpoint: str | None, key: str | None) -> tuple[str, str]:
    return (checkpoint or current_app.config["HISTORY_CHECKPOINT_FILE"],
            key or current_app.config["HISTORY_KEY_FILE"])


def _print_findings(findings: list, limit: int) -> None:
    for finding in findings[:limit]:
        click.echo(finding.message)
    if len(findings) > limit:
        click.echo(f"... and {len(findings) - limit} more")


_CHECKPOINT_OPTION = click.option(
    "--checkpoint", "checkpoint_path", type=click.Path(dir_okay=False),
    help="The checkpoint file (default: HISTORY_CHECKPOINT_FILE, instance/history_checkpoint).")
_KEY_OPTION = click.option(
    "--key", "key_path", type=click.Path(dir_okay=False),
    help="The history key file (default: HISTORY_KEY_FILE, instance/history_key).")


@click.command("verify-history",
               help="Check every serial's event history: each chain link, each serial's head "
                    "and state, and the signed checkpoint (no serial in it may be missing, and "
                    "the history must still pass through it). Names each problem found and "
                    "exits 1; exits 0 with a one-line summary when the history is intact.")
@_CHECKPOINT_OPTION
@_KEY_OPTION
@click.option("--limit", type=click.IntRange(min=1), default=100, show_default=True,
              help="Name at most this many problems.")
@with_appcontext
def verify_history(checkpoint_path, key_path, limit):
    from .history import verify
    checkpoint_path, key_path = _history_paths(checkpoint_path, key_path)
    with db.engine.connect() as conn:
        report = verify(conn, checkpoint_path, key_path)
    _print_findings(report.findings, limit)
    if [f.kind for f in report.findings] == ["other_database"]:
        raise SystemExit(1)  # this database's chains are whole; the sentence says the rest
    if not report.clean:
        click.echo(f"history NOT intact: {len(report.findings)} problem(s) found in "
                   f"{report.serials} serials and {report.events} events")
        raise SystemExit(1)
    click.echo(f"history intact: {report.serials} serials, {report.events} events, checked "
               f"against the checkpoint of {report.checkpoint_at:%Y-%m-%d %H:%M:%S} UTC")


@click.command("checkpoint-history",
               help="Check the history (as verify-history does) and, if it is intact, write a "
                    "new signed checkpoint of every serial's head. Run it from cron, e.g. "
                    "hourly, and copy the checkpoint and the key off the server. Makes the key "
                    "file (owner-only) on first use.")
@_CHECKPOINT_OPTION
@_KEY_OPTION
@click.option("--accept", is_flag=True,
              help="Write the checkpoint even though the check finds problems (after restoring "
                   "a backup, say, once you know why): the problems are recorded in it.")
@click.option("--new-key", "new_key_path", type=click.Path(dir_okay=False),
              help="Rotate the key: check the last checkpoint with the current key, sign the "
                   "new one with this key file (made if missing); then point "
                   "HISTORY_KEY_FILE at it.")
@click.option("--limit", type=click.IntRange(min=1), default=100, show_default=True,
              help="Name at most this many problems.")
@with_appcontext
def checkpoint_history(checkpoint_path, key_path, accept, new_key_path, limit):
    from .history import CheckpointError, make_checkpoint
    checkpoint_path, key_path = _history_paths(checkpoint_path, key_path)
    try:
        with db.engine.connect() as conn:
            report, digest = make_checkpoint(conn, checkpoint_path, key_path, accept=accept,
                                             new_key_path=new_key_path)
    except (CheckpointError, OSError) as exc:
        raise click.ClickException(str(exc)) from None
    _print_findings(report.findings, limit)
    if digest is None:
        click.echo(f"no checkpoint written: {len(report.findings)} problem(s) found; find out "
                   "why first (--accept writes one anyway)")
        raise SystemExit(1)
    accepted = f", {len(report.findings)} problem(s) accepted" if report.findings else ""
    click.echo(f"checkpoint written to {checkpoint_path}: {report.serials} serials, "
               f"{report.events} events{accepted} (sha256 {digest[:16]}). Keep copies of it and "
               f"of {new_key_path or key_path} off the server.")
