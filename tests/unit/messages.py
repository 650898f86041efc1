"""Message quality: what a user reads when a scan or a pattern is refused."""
import re

# Things that give away a programmer's message: Python reprs and None, regex
# syntax, parser vocabulary, snake_case field names, control characters.
_GIVEAWAYS = re.compile(r"None|'|\\d|\[0-9\]|\^|\$|\{!r\}|YYMMDD|\bAI\b|regex|regular expression"
                        r"|pattern '|[Ee]xpected|[Pp]arse|[a-z]+_[a-z]+|[\x00-\x1f]")


def assert_worker_message(message: str) -> None:
    """One short sentence in a warehouse worker's (or shop manager's) words."""
    assert isinstance(message, str), message
    assert 10 <= len(message) <= 120, message
    assert message[0].isupper() and message.endswith('.'), message
    assert not re.search(r'[A-Za-z0-9)"][.!?;]\s', message), f'{message!r} is more than one sentence'
    found = _GIVEAWAYS.search(message)
    assert found is None, f'{message!r} contains {found.group()!r}'
