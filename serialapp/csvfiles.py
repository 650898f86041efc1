"""CSV in and out, the way spreadsheets write and read it. Pure: no Flask, no database.

In: a file from Excel, LibreOffice or Numbers may start with a byte-order mark, use ";" (in
much of Europe) or tabs, and name columns in any case with spaces. Out: a cell that starts
with = + - @ (or a tab or carriage return) would be run as a formula by a spreadsheet that
opens the export, so it is written with a leading apostrophe, which spreadsheets show as
text; reading such a file back takes the apostrophe off again."""
import csv
import io
from collections.abc import Iterable, Iterator

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
MAX_FIELD = 10_000  # no cell of ours is longer; a longer one is a broken or hostile file


class CsvError(ValueError):
    """The file cannot be read as a table; the message says why, in words."""


def neutralise(value) -> str:
    """A cell value that a spreadsheet will show as text, never run as a formula."""
    text = "" if value is None else str(value)
    return "'" + text if text.startswith(FORMULA_STARTS) else text


def restore(text: str) -> str:
    """The inverse of neutralise, for files we exported and a person re-imports."""
    if len(text) > 1 and text[0] == "'" and text[1:].startswith(FORMULA_STARTS):
        return text[1:]
    return text


def header_key(name: str) -> str:
    """'Purchase Order' and 'purchase_order' and ' PURCHASE-ORDER ' are one column."""
    return "_".join(name.strip().lower().replace("-", " ").replace("_", " ").split())


def read_rows(data: bytes) -> tuple[list[str], list[dict]]:
    """Columns (normalised names) and rows as dicts of stripped texts, with their line."""
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        try:
            text = data.decode("cp1252")  # Excel's "CSV" on Windows
        except UnicodeDecodeError:
            raise CsvError("The file is not text: save it from the spreadsheet as CSV.") from None
    if not text.strip():
        raise CsvError("The file is empty.")
    first = text.split("\n", 1)[0]
    delimiter = max((",", ";", "\t"), key=first.count)
    csv.field_size_limit(MAX_FIELD)
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    try:
        header = next(reader)
        columns = [header_key(h) for h in header]
        if len(set(columns)) != len(columns):
            raise CsvError("Two columns have the same name.")
        rows = []
        for cells in reader:
            if not any(c.strip() for c in cells):
                continue
            row = {col: restore(cell.strip()) for col, cell in zip(columns, cells)}
            row["_line"] = reader.line_num
            rows.append(row)
    except csv.Error as exc:
        raise CsvError(f"The file is not a well-formed CSV table near line {reader.line_num}.") \
            from exc
    return columns, rows


def write_rows(columns: list[str], rows: Iterable[Iterable]) -> Iterator[str]:
    """The CSV text, a chunk at a time (header first), every cell neutralised: for
    streaming an export of any size in constant memory."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(columns)
    count = 0
    for row in rows:
        writer.writerow([neutralise(v) for v in row])
        count += 1
        if count % 500 == 0:
            yield out.getvalue()
            out.seek(0)
            out.truncate()
    yield out.getvalue()
