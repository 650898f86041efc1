"""records.charts: whole-number ticks for counts, and legends that fit, at both sizes."""
import re
import xml.etree.ElementTree as ET

import pytest

from serialapp.records import charts

NS = "{http://www.w3.org/2000/svg}"


def test_count_ticks_are_whole_and_cover_the_top():
    assert charts.count_ticks(0) == [0, 1]
    assert charts.count_ticks(3) == [0, 1, 2, 3]
    assert charts.count_ticks(7) == [0, 2, 4, 6, 8]
    assert charts.count_ticks(26) == [0, 5, 10, 15, 20, 25, 30]
    assert charts.count_ticks(149) == [0, 50, 100, 150]
    for top in range(0, 2000, 37):
        ticks = charts.count_ticks(top)
        assert ticks[0] == 0 and ticks[-1] >= top and len(ticks) <= 7
        assert all(isinstance(t, int) for t in ticks)


def _y_labels(svg: str) -> list[str]:
    root = ET.fromstring(svg)
    axis = next(g for g in root.iter(NS + "g") if "axis y" in (g.get("class") or ""))
    return [t.text for t in axis.iter(NS + "text")]


def _legend_bottoms(svg: str) -> tuple[float, float, list[float]]:
    """The chart's height, and where each legend entry's text ends (y, chart units)."""
    root = ET.fromstring(svg)
    height = float(root.get("viewBox").split()[3])
    width = float(root.get("viewBox").split()[2])
    legends = next(g for g in root.iter(NS + "g") if g.get("class") == "legends")
    dx, dy = map(float, re.fullmatch(r"translate\(([\d.]+), ([\d.]+)\)",
                                     legends.get("transform")).groups())
    return height, width, [(dx, dy + float(t.get("y")), t) for t in legends.iter(NS + "text")]


SMALL = {"by_status": [{"sku": "A", "in_stock": 1, "picked": 2, "shipped": 0,
                        "quarantined": 1, "scrapped": 0}]}
FLOW = {"rows": [{"day": f"2026-01-{d:02d}", "received": d % 3, "shipped": 1}
                 for d in range(1, 31)]}
STAGES = {"rows": [{"location": f"STORE-NUMBER-{n}", "sku": "LAPTOP-15-INCH", "status":
                    "in_stock", "week": f"2026-01-{w:02d}", "units": n + 1,
                    "median_hours": 1.5 * n, "p90_hours": 2.0 * n}
                   for n in range(12) for w in (5, 12, 19)]}


@pytest.mark.parametrize("size", ["narrow", "wide"])
def test_counts_get_whole_ticks(size):
    for svg in (charts.status_chart(SMALL, size), charts.flow_chart(FLOW, size)):
        labels = _y_labels(svg)
        assert labels and all(re.fullmatch(r"\d+", t) for t in labels), labels


@pytest.mark.parametrize("size", ["narrow", "wide"])
@pytest.mark.parametrize("chart,data", [(charts.status_chart, SMALL),
                                        (charts.stage_chart, STAGES),
                                        (charts.flow_chart, FLOW)])
def test_every_legend_entry_is_inside_the_chart(chart, data, size):
    """pygal left the legend's last row below the chart's bottom edge; and a name wider than
    its column ran into the next one."""
    svg = chart(data, size)
    height, width, entries = _legend_bottoms(svg)
    assert entries
    for dx, y, text in entries:
        assert y <= height - 2, (text.text, y, height)
        # pygal measures text at 0.62 em: the entry's end stays inside the chart.
        font = charts._SIZES[size][2]
        assert dx + float(text.get("x")) + 0.62 * font * len(text.text) <= width + 1, text.text
    if chart is charts.stage_chart:  # at most MAX_LINES lines, the busiest
        assert len(entries) == charts.MAX_LINES
        assert "(8 busiest of 12)" in svg
