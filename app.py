"""Entry point: `flask --app app ...` for the CLI, `gunicorn app:app` in production."""
from serialapp import create_app

app = create_app()
