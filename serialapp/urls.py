"""URL pieces shared by the page and API blueprints."""
from urllib.parse import quote

from werkzeug.routing import BaseConverter


class SerialConverter(BaseConverter):
    """A serial number as one URL segment. Serials may hold any printable character ("/",
    "#", "?", "%", spaces): links quote every one of them, "/" included, and the rule
    takes the rest of the path, since a server decodes %2F to "/" before routing. (A
    browser resolves "." and ".." only as whole segments, and a serial always holds a
    letter or digit, so "..%2F..%2Fetc" stays one segment and reaches us as it is.)"""
    regex = ".+"
    part_isolating = False
    weight = 200

    def to_url(self, value: str) -> str:
        return quote(str(value), safe="")
