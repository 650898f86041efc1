"""`flask --app app users create|disable|reset-password`, `tokens issue|list|revoke`,
`purge`, `seed`, `import`."""
import click
from flask import Flask
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
