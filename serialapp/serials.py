"""The rules for a serial number's text, in one place: every way in (a scan, a typed line,
a photo, an import, a URL) passes through `canonical`, and every lookup through `key`.

- Unicode NFC, so "É" typed as one character or as E + combining accent is one serial.
- Trimmed, printable only: no control, format (bidi, zero-width), private-use or line
  separator characters, which a person cannot see on a label and so cannot check.
- At most 64 characters, and at least one letter or digit.
- No mixing of look-alike scripts: Latin with Cyrillic or Greek (А and A look the same on a
  label, and two serials that differ only there would be two units no one can tell apart).
- Letter case: serials that differ only in case are the same unit, unless the product says
  its serials are case-sensitive (GS1 serials, AI 21, are by standard). `key` gives the
  form that is stored and compared for that rule.

Pure: no Flask, no database."""
import unicodedata

MAX_LENGTH = 64

# Unicode general categories a label cannot show: controls, format characters (bidi
# controls, zero-width spaces and joiners, BOM), surrogates, private use, unassigned, and
# line/paragraph separators.
_INVISIBLE = {"Cc", "Cf", "Cs", "Co", "Cn", "Zl", "Zp"}
_LOOKALIKE_SCRIPTS = ("LATIN", "CYRILLIC", "GREEK")


class SerialTextError(ValueError):
    """A text that cannot be a serial; the message says why, in a picker's words."""


# Control characters have no Unicode name; these are the ones scanners and pasting bring.
_CONTROL_NAMES = {"\t": "a tab", "\n": "a line break", "\r": "a line break",
                  "\x00": "a null character", "\x1d": "a group separator (GS)",
                  "\x1e": "a record separator", "\x04": "an end-of-transmission character"}


def _describe(ch: str) -> str:
    name = _CONTROL_NAMES.get(ch) or unicodedata.name(ch, "").title() or "a control character"
    return f"{name} (U+{ord(ch):04X})"


def _script(ch: str) -> str | None:
    """LATIN, CYRILLIC or GREEK for a letter of those scripts, else None."""
    if not ch.isalpha():
        return None
    name = unicodedata.name(ch, "")
    return next((s for s in _LOOKALIKE_SCRIPTS if name.startswith(s + " ")), None)


def canonical(text: str) -> str:
    """The one stored form of a serial's text, or SerialTextError saying what is wrong."""
    if not isinstance(text, str):
        raise SerialTextError("A serial number must be text.")
    text = unicodedata.normalize("NFC", text).strip()
    if not text:
        raise SerialTextError("The serial number is empty.")
    if len(text) > MAX_LENGTH:
        raise SerialTextError(f"A serial number is at most {MAX_LENGTH} characters, and this "
                              f"one has {len(text)}: check the label.")
    for ch in text:
        if unicodedata.category(ch) in _INVISIBLE:
            raise SerialTextError(f"It holds an invisible character, {_describe(ch)}, so "
                                  "type it again by hand.")
        if ch.isspace() and ch != " ":
            raise SerialTextError(f"It holds {_describe(ch)} where only plain spaces may "
                                  "be, so type it again by hand.")
    if not any(ch.isalnum() for ch in text):
        raise SerialTextError("A serial number needs at least one letter or digit.")
    scripts = {}
    for ch in text:
        script = _script(ch)
        if script:
            scripts.setdefault(script, ch)
    if "LATIN" in scripts and len(scripts) > 1:
        other = next(s for s in scripts if s != "LATIN")
        letter = scripts[other]
        raise SerialTextError(f"It mixes Latin letters with the {other.title()} letter {letter} "
                              f"(U+{ord(letter):04X}), so type it again in one alphabet.")
    return text


def key(text: str, case_sensitive: bool) -> str:
    """What is stored and compared: the canonical text, folded when case does not count."""
    return text if case_sensitive else text.casefold()


def search_key(text: str) -> str:
    """What search by part of a serial compares: case never counts when looking for one."""
    return text.casefold()


def candidate_keys(text: str) -> tuple[str, str]:
    """The keys a scanned (canonical) text can match: as it is for case-sensitive products,
    folded for the others. Which one applies is known only once the product is."""
    return text, text.casefold()


def default_case_sensitive(gtin: str | None, pattern: str | None) -> bool:
    """GS1 products (a GTIN, or the gs1 serial kind) have case-sensitive serials by standard;
    the rest default to case-insensitive, as a person reading a label expects."""
    return bool(gtin) or (pattern or "").strip().lower() == "gs1"
