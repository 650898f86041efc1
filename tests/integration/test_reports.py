"""Issue 9's reports over HTTP: stock, time in stage (against the events' own times),
flow, ageing; JSON, CSV, charts, and 400s for bad parameters."""
import csv
import io
from datetime import datetime

from serialapp.records import stats
from tests.factories import imei, setup_shop
from tests.integration.test_auth_and_pages import login


def _at(text):
    return datetime.fromisoformat(text.rstrip("Z"))


def _through_two_stages(api):
    setup_shop(api)
    serials = [imei(n) for n in range(1, 5)]
    assert all(r["ok"] for r in api.post("/receive", {"location": "A1", "sku": "PHONE",
                                                      "serials": serials}).get_json()["results"])
    for stage in ("TEST-BENCH", "A2"):
        for s in serials:  # one at a time: each unit's stay has its own length
            assert api.post("/move", {"location": stage, "serials": [s]}).get_json()[
                "results"][0]["ok"]
    return serials


def test_stage_times_match_the_events_times(manager):
    serials = _through_two_stages(manager)
    expected: dict[str, list[float]] = {"A1": [], "TEST-BENCH": []}
    for s in serials:
        history = manager.get(f"/serials/{s}").get_json()["history"]
        ats = [_at(e["at"]) for e in history]
        expected["A1"].append((ats[1] - ats[0]).total_seconds() / 3600)
        expected["TEST-BENCH"].append((ats[2] - ats[1]).total_seconds() / 3600)
    r = manager.get("/reports/stage-times?weeks=2&threshold_hours=1")
    assert r.status_code == 200, r.get_json()
    body = r.get_json()
    rows = {row["location"]: row for row in body["rows"]}
    assert set(rows) == {"A1", "TEST-BENCH"}  # A2 is where they are: not yet a closed stay
    for loc, hours in expected.items():
        assert rows[loc]["units"] == 4 and rows[loc]["sku"] == "PHONE"
        assert rows[loc]["median_hours"] == round(stats.median(hours), 1)
        assert rows[loc]["p90_hours"] == round(stats.percentile(hours, 90), 1)
    assert body["stuck"] == []  # nothing has sat an hour yet
    text = manager.get("/reports/stage-times?format=csv").get_data(as_text=True)
    assert list(csv.reader(io.StringIO(text)))[0] == [
        "location", "status", "sku", "week", "units", "median_hours", "p90_hours"]


def test_stock_flow_ageing(manager):
    _through_two_stages(manager)
    stock = manager.get("/reports/stock").get_json()
    assert stock["by_location"] == [{"sku": "PHONE", "product": "Phone", "location": "A2",
                                     "in_stock": 4}]
    assert {"sku": "PHONE", "in_stock": 4, "picked": 0, "shipped": 0, "quarantined": 0,
            "scrapped": 0, "missing": 0} in stock["by_status"]
    rows = list(csv.reader(io.StringIO(manager.get("/reports/stock?format=csv")
                                       .get_data(as_text=True))))
    assert rows == [["sku", "product", "location", "in_stock"], ["PHONE", "Phone", "A2", "4"]]
    flow = manager.get("/reports/flow?days=7").get_json()
    assert len(flow["rows"]) == 7 and flow["rows"][-1]["received"] == 4
    ageing = manager.get("/reports/ageing").get_json()
    assert ageing["rows"] == [{"sku": "PHONE", "0-30 days": 4, "31-60 days": 0,
                               "61-90 days": 0, "91-180 days": 0, "181-365 days": 0,
                               "over a year": 0}]


def test_bad_report_parameters_are_400(manager, picker):
    for path in ("/reports/stock?colour=red", "/reports/stage-times?weeks=lots",
                 "/reports/stage-times?threshold_hours=0", "/reports/flow?days=9999",
                 "/reports/stock?format=pdf"):
        r = manager.get(path)
        assert r.status_code == 400 and r.get_json()["error"]["message"], path
    assert picker.get("/reports/stock").status_code == 403


def test_report_pages_draw_svg_charts(app, manager):
    _through_two_stages(manager)
    client = app.test_client()
    login(client, "manager")
    for path in ("/reports/stock", "/reports/stage-times", "/reports/flow", "/reports/ageing"):
        page = client.get(path)
        assert page.status_code == 200, path
        text = page.get_data(as_text=True)
        assert "<svg" in text and "<script" not in text.split("<svg", 1)[1].split("</svg>")[0]
    page = client.get("/reports/stage-times?weeks=nope").get_data(as_text=True)
    assert "weeks must be a whole number" in page


def test_stuck_lists_the_longest_and_counts_them_all(manager, app, monkeypatch):
    from datetime import timedelta

    from serialapp.models import utcnow
    from serialapp.records import reports
    _through_two_stages(manager)
    monkeypatch.setattr(reports, "MAX_STUCK", 2)
    with app.app_context():  # an hour from now, all four units have sat at A2 past 0.5 h
        data = reports.stage_times(2, 1, utcnow() + timedelta(hours=2))
    assert data["stuck_total"] == 4 and len(data["stuck"]) == 2
    assert data["stuck"][0]["hours"] >= data["stuck"][1]["hours"]
    assert {row["location"] for row in data["rows"]} == {"A1", "TEST-BENCH"}
