"""Entry point: `flask --app app ...` for the CLI, `gunicorn app:app` in production."""
from serialapp.app import create_app

app = create_app()
