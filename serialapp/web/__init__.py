"""Server-rendered, phone-first pages. Scans go to the JSON API from scan.js."""
from flask import Blueprint

bp = Blueprint("web", __name__)

from . import pages  # noqa: E402,F401
