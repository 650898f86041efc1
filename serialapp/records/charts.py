"""The reports' charts: pygal SVG drawn on the server, so a phone needs no chart script.

Each chart comes in two sizes, the page showing one: a narrow one for phones (drawn about
as wide as a phone shows it, so its type stays readable: scaled to 360 px, a chart drawn
800 wide would shrink 18 px type to 8) and a wide one for desktops and print. Counts get
whole-number ticks (no "2.5 units"), and the legend below the chart always has the room
its rows need."""
import math
import re
from collections import defaultdict

from .. import lifecycle

_SCRIPT = re.compile(r"<script\b.*?</script>", re.S)

# (width, height, type px, legend columns, legend characters) per size.
_SIZES = {"wide": (800, 450, 18, 3, 24), "narrow": (400, 380, 15, 2, 20)}


def _style(px: int):
    import pygal
    from pygal.style import Style
    style = Style(font_family="system-ui, sans-serif", label_font_size=px,
                  major_label_font_size=px, legend_font_size=px, title_font_size=px + 3,
                  value_font_size=px - 2, background="white", plot_background="white")
    return pygal, style


def _render(chart) -> str:
    """The chart's SVG without pygal's tooltip script (js=[] drops the external file, and
    this its inline config): a static chart works offline and under a strict CSP."""
    # style="opacity: 0" (the tooltip) as a presentation attribute: the CSP refuses style
    # attributes, and the SVG attribute means the same.
    return _SCRIPT.sub("", chart.render(is_unicode=True)).replace(
        'style="opacity: 0"', 'opacity="0"')


def count_ticks(top: float) -> list[int]:
    """Whole-number y ticks from 0 to at least `top`, at most about six: 1, 2, 5, 10, 20,
    50... apart."""
    top = max(1, math.ceil(top))
    base = 1
    while True:
        for step in (base, 2 * base, 5 * base):
            if top / step <= 6:
                return list(range(0, step * math.ceil(top / step) + 1, step))
        base *= 10


def _columns(names: list[str], width: int, px: int, most: int,
             chars: int) -> tuple[int, int]:
    """As many legend columns (up to `most`) as let every name (cut at `chars`) fit its
    column (a name wider than its column ran into the next one's), and how many characters
    of a name its column then holds."""
    def fits(columns):  # characters: pygal measures text at 0.62 em; the colour box, a gap
        return int(((width - 40) / columns - px - 12) / (0.62 * px))
    longest = max((len(n) for n in names), default=0)
    columns = max(1, min(most, len(names)))
    while columns > 1 and fits(columns) < min(longest, chars):
        columns -= 1
    return columns, max(chars, min(fits(columns), 40)) if columns == 1 else chars


def _make(kind: str, title: str, size: str, names: list[str], count_top: float | None = None,
          **kw):
    """A pygal chart of `kind` whose legend lists `names`, laid out for `size`."""
    width, height, px, most, chars = _SIZES[size]
    pygal, style = _style(px)
    series = len(names)
    columns, chars = _columns(names, width, px, most, chars)
    rows = math.ceil(series / columns)
    # pygal reserves (series // columns - 1) * 1.5 + 1 legend lines under the plot: a row
    # short whenever the last row is not full (less than one row for fewer series than
    # columns), and that row was cut off. The margin makes up the difference, and the
    # chart grows by its legend rows so the plot keeps its height.
    line = max(px, 12)
    short = ((rows - 1) - (series // columns - 1)) * 1.5 * line if series else 0
    config = dict(title=title, style=style, width=width,
                  height=height + round(1.5 * line * max(0, rows - 1)), js=[],
                  disable_xml_declaration=True, legend_at_bottom=True,
                  legend_at_bottom_columns=columns, truncate_legend=chars,
                  print_values=False, margin_bottom=20 + math.ceil(short),
                  **{"x_label_rotation": 30 if size == "wide" else 50, **kw})
    if count_top is not None:
        config["y_labels"] = count_ticks(count_top)
        config["value_formatter"] = lambda v: f"{v:.0f}"
    return getattr(pygal, kind)(**config)


def stock_chart(data: dict, size: str = "wide") -> str:
    skus = sorted({r["sku"] for r in data["by_location"]})
    places = sorted({r["location"] for r in data["by_location"]})
    totals = defaultdict(int)
    for r in data["by_location"]:
        totals[r["sku"]] += r["in_stock"]
    chart = _make("StackedBar", "In stock per product and location", size, places,
                  count_top=max(totals.values(), default=0))
    chart.x_labels = skus
    for loc in places:
        chart.add(loc, [next((r["in_stock"] for r in data["by_location"]
                              if r["sku"] == s and r["location"] == loc), None) for s in skus])
    return _render(chart)


def status_chart(data: dict, size: str = "wide") -> str:
    # .get: a status added later (missing) is 0 in figures made before it existed.
    top = max((sum(r.get(st, 0) for st in lifecycle.STATUSES) for r in data["by_status"]),
              default=0)
    names = [st.replace("_", " ") for st in lifecycle.STATUSES]
    chart = _make("StackedBar", "Units by status", size, names, count_top=top)
    chart.x_labels = [r["sku"] for r in data["by_status"]]
    for st, name in zip(lifecycle.STATUSES, names):
        chart.add(name, [r.get(st) or None for r in data["by_status"]])
    return _render(chart)


MAX_LINES = 8


def stage_chart(data: dict, size: str = "wide") -> str:
    """Median hours per week, one line per place and product: the MAX_LINES through which
    most units went (the table below has them all). Hours, not counts: its ticks may fall
    between whole numbers."""
    weeks = sorted({r["week"] for r in data["rows"]})
    series: dict[str, dict] = defaultdict(dict)
    units: dict[str, int] = defaultdict(int)
    for r in data["rows"]:
        name = f"{r['location']} {r['sku']}"
        series[name][r["week"]] = r["median_hours"]
        units[name] += r["units"]
    busiest = sorted(sorted(series), key=lambda n: -units[n])[:MAX_LINES]
    title = "Median hours in stage, by week"
    if len(series) > MAX_LINES:
        title += f" ({MAX_LINES} busiest of {len(series)})"
    chart = _make("Line", title, size, busiest,
                  x_label_rotation=30 if size == "wide" else 60)
    # A phone shows the week as month-day: the whole date, slanted, ran into the next.
    chart.x_labels = weeks if size == "wide" else [w[5:] for w in weeks]
    for name in sorted(busiest):
        chart.add(name, [series[name].get(w) for w in weeks])
    return _render(chart)


def flow_chart(data: dict, size: str = "wide") -> str:
    top = max((max(r["received"], r["shipped"]) for r in data["rows"]), default=0)
    chart = _make("Bar", "Received and shipped per day", size, ["received", "shipped"],
                  count_top=top,
                  show_minor_x_labels=False)
    chart.x_labels = [r["day"][5:] for r in data["rows"]]
    chart.x_labels_major = chart.x_labels[::7 if size == "wide" else 14]
    chart.add("received", [r["received"] for r in data["rows"]])
    chart.add("shipped", [r["shipped"] for r in data["rows"]])
    return _render(chart)


def ageing_chart(data: dict, size: str = "wide") -> str:
    top = max((sum(r[b] for b in data["buckets"]) for r in data["rows"]), default=0)
    chart = _make("StackedBar", "In stock by time since receipt", size,
                  [r["sku"] for r in data["rows"]], count_top=top)
    chart.x_labels = data["buckets"]
    for r in data["rows"]:
        chart.add(r["sku"], [r[b] or None for b in data["buckets"]])
    return _render(chart)
