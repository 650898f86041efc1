"""`flask --app app users create ...`, `tokens issue ...`, `seed`."""
import click
from flask import Flask
from sqlalchemy import select

from . import auth, lifecycle
from .extensions import db
from .models import User


def register(app: Flask) -> None:
    app.cli.add_command(users)
    app.cli.add_command(tokens)
    app.cli.add_command(seed)


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


@click.group(help="Manage API tokens.")
def tokens():
    pass


@tokens.command("issue")
@click.argument("name")
def issue(name):
    user = db.session.scalar(select(User).where(User.name == name))
    if user is None:
        raise click.ClickException(f"no user {name}")
    click.echo(f"token for {name} (shown once; store it safely):")
    click.echo(auth.issue_token(user))


@click.command(help="Add demo data, only if the database has no products yet.")
def seed():
    from .seed import seed_demo
    click.echo(seed_demo())
