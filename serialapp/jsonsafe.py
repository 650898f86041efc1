"""Reading JSON bodies without a way to crash the server.

Python's json parser recurses once per nesting level: a body of 1000 nested lists raises
RecursionError, which is not a ValueError, so Flask's get_json lets it through as a 500.
And a body just under that depth parses, then overflows the stack later (re-encoding it
for the idempotency fingerprint, validating it). So every JSON body Flask reads goes
through `loads` here: a RecursionError becomes a ValueError, and anything nested deeper
than MAX_DEPTH is refused the same way. No field of the API nests more than 4 levels."""
import json

from flask.json.provider import DefaultJSONProvider

MAX_DEPTH = 32


class JSONTooDeep(ValueError):
    pass


def depth_of(value) -> int:
    """Nesting depth of parsed JSON, counted without recursion."""
    deepest, stack = 0, [(value, 1)]
    while stack:
        item, level = stack.pop()
        if isinstance(item, (dict, list)):
            deepest = max(deepest, level)
            children = item.values() if isinstance(item, dict) else item
            stack.extend((child, level + 1) for child in children
                         if isinstance(child, (dict, list)))
    return deepest


class SafeJSONProvider(DefaultJSONProvider):
    def loads(self, s, **kwargs):
        try:
            value = json.loads(s, **kwargs)
        except RecursionError:
            raise JSONTooDeep(f"The JSON is nested more than {MAX_DEPTH} levels deep.") from None
        if depth_of(value) > MAX_DEPTH:
            raise JSONTooDeep(f"The JSON is nested more than {MAX_DEPTH} levels deep.")
        return value
