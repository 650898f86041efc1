"""Write a benchmark's latest figures into its own section of docs/benchmarks.md."""
import re
import statistics
import time
from pathlib import Path

DOC = Path(__file__).resolve().parent.parent / "docs" / "benchmarks.md"


def write_section(name: str, text: str, doc: Path = DOC) -> None:
    begin, end = f"<!-- begin {name} -->", f"<!-- end {name} -->"
    block = f"{begin}\n{text.strip()}\n{end}"
    current = doc.read_text() if doc.exists() else "# Benchmarks\n"
    pattern = re.compile(re.escape(begin) + r".*?" + re.escape(end), re.S)
    if pattern.search(current):
        current = pattern.sub(lambda _: block, current)
    else:
        current = current.rstrip() + "\n\n" + block + "\n"
    doc.write_text(current)


def timed(client, headers, url: str, rounds: int = 20) -> float:
    """Median milliseconds of `rounds` warm GETs of `url` through a Flask test client."""
    client.get(url, headers=headers)  # warm
    times = []
    for _ in range(rounds):
        start = time.perf_counter()
        r = client.get(url, headers=headers)
        times.append((time.perf_counter() - start) * 1000)
        assert r.status_code == 200, (url, r.status_code, r.get_data()[:200])
    return statistics.median(times)
