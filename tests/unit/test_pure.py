"""The pure modules import without Flask or a database: the design's promise, so the rules
can be used and tested on their own."""
import subprocess
import sys

import pytest

PURE = ["serialapp.lifecycle", "serialapp.serials", "serialapp.identifiers",
        "serialapp.patterns", "serialapp.checkdigits", "serialapp.messages",
        "serialapp.scanning"]


@pytest.mark.parametrize("module", PURE)
def test_imports_without_flask_or_sqlalchemy(module):
    code = (f"import sys, {module}; "
            "bad = [m for m in ('flask', 'sqlalchemy', 'flask_sqlalchemy') if m in sys.modules]; "
            "assert not bad, bad")
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
