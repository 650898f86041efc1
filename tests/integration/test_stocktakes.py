"""Stocktakes (cycle counts) through the API: count, close, resolve, and the records then
match the shelf; every resolution is in the serial's history."""
import json
import threading
import urllib.request

from tests.factories import imei, setup_shop

UNKNOWN = imei(99)  # a well-formed IMEI no one received


def statuses(api, *serials):
    return {s: (api.get(f"/serials/{s}").get_json()["status"],
                api.get(f"/serials/{s}").get_json()["location"]) for s in serials}


def history(api, serial):
    return api.get(f"/serials/{serial}").get_json()["history"]


def receive(api, location, numbers):
    r = api.post("/receive", {"location": location, "sku": "PHONE",
                              "serials": [imei(n) for n in numbers]})
    assert r.status_code == 200 and all(x["ok"] for x in r.get_json()["results"]), r.get_json()


def start(api, **scope):
    r = api.post("/stocktakes", scope)
    assert r.status_code == 201, r.get_json()
    return r.get_json()["id"]


def count(api, count_id, texts, key=None, **fields):
    r = api.post(f"/stocktakes/{count_id}/scans", {"serials": texts, **fields}, key=key)
    assert r.status_code == 200, r.get_json()
    return r.get_json()


def test_a_count_of_40_finds_5_missing_and_3_unexpected_and_resolving_matches_the_shelf(
        manager, picker):
    setup_shop(manager)
    receive(manager, "A1", range(1, 41))   # the shelf's records: 40 units
    receive(manager, "A2", (41, 42))       # recorded elsewhere
    count_id = start(manager, location="A1")
    assert manager.get(f"/stocktakes/{count_id}").get_json()["progress"]["expected"] == 40

    # 35 of the 40, two from A2 that are really here, one never received.
    body = count(picker, count_id, [imei(n) for n in range(1, 36)])
    assert body["added"] == 35 and body["progress"]["found"] == 35
    assert all(r["ok"] and r["status"] == "counted" and r["expected"] for r in body["results"])
    body = count(picker, count_id, [imei(41), imei(42), UNKNOWN])
    assert [r["expected"] for r in body["results"]] == [False, False, False]
    assert "another location" in body["results"][0]["note"]
    assert body["progress"] == {"expected": 40, "found": 35, "missing": 5, "unexpected": 3,
                                "scanned": 38, "by_location": [
                                    {"location": "A1", "expected": 40, "found": 35}]}
    # The same label again, by someone else: counted once.
    again = count(manager, count_id, [imei(1), UNKNOWN])
    assert again["added"] == 0 and all(r["repeat"] for r in again["results"])

    closed = manager.post(f"/stocktakes/{count_id}/close")
    assert closed.status_code == 200, closed.get_json()
    view = closed.get_json()
    assert view["status"] == "closed"
    p = view["progress"]
    assert (p["expected"], p["found"], p["missing"], p["unexpected"]) == (40, 35, 5, 3)
    diffs = view["differences"]
    missing = {d["serial"]: d for d in diffs if d["kind"] == "missing"}
    unexpected = {d["serial"]: d for d in diffs if d["kind"] == "unexpected"}
    assert set(missing) == {imei(n) for n in range(36, 41)}
    assert set(unexpected) == {imei(41), imei(42), UNKNOWN}
    assert unexpected[imei(41)]["reason"] == "elsewhere"
    assert unexpected[imei(41)]["recorded_location"] == "A2"
    assert unexpected[imei(41)]["location"] == "A1"
    assert unexpected[UNKNOWN]["reason"] == "unknown"
    assert missing[imei(36)]["resolutions"][0] == "mark_missing"
    assert unexpected[imei(41)]["resolutions"][0] == "move_here"
    assert unexpected[UNKNOWN]["resolutions"][0] == "receive"
    # Closing changed no serial.
    assert statuses(manager, imei(36))[imei(36)] == ("in_stock", "A1")

    # A picker may count, not resolve.
    assert picker.post(f"/stocktakes/{count_id}/resolve", {
        "action": "mark_missing", "differences": "all"}).status_code == 403
    r = manager.post(f"/stocktakes/{count_id}/resolve",
                     {"action": "mark_missing", "differences": "all"})
    assert r.status_code == 200, r.get_json()
    assert [x["ok"] for x in r.get_json()["results"]] == [True] * 5
    r = manager.post(f"/stocktakes/{count_id}/resolve", {
        "action": "move_here", "differences": [unexpected[imei(41)]["id"],
                                               unexpected[imei(42)]["id"]]})
    assert all(x["ok"] and x["status"] == "in_stock" for x in r.get_json()["results"])
    r = manager.post(f"/stocktakes/{count_id}/resolve", {
        "action": "receive", "differences": [unexpected[UNKNOWN]["id"]], "sku": "PHONE"})
    assert r.get_json()["results"][0]["ok"], r.get_json()

    # The records match the shelf: the 38 units seen are in stock at A1, the five not seen
    # are missing, last seen at A1.
    in_stock = manager.get("/serials?location=A1&status=in_stock").get_json()
    assert in_stock["total"] == 38
    shelf = {s["serial"] for s in in_stock["serials"]}
    assert shelf == {imei(n) for n in range(1, 36)} | {imei(41), imei(42), UNKNOWN}
    for n in range(36, 41):
        assert statuses(manager, imei(n))[imei(n)] == ("missing", "A1")
    # Every resolution is in the serial's history.
    for n in range(36, 41):
        last = history(manager, imei(n))[-1]
        assert (last["type"], last["to_status"], last["note"]) == \
            ("mark_missing", "missing", f"Count {count_id}")
        assert last["user"] == "manager"
    for n in (41, 42):
        last = history(manager, imei(n))[-1]
        assert (last["type"], last["from_location"], last["to_location"]) == ("move", "A2", "A1")
        assert last["note"] == f"Count {count_id}"
    assert [e["type"] for e in history(manager, UNKNOWN)] == ["receive"]
    assert history(manager, UNKNOWN)[0]["to_location"] == "A1"

    # The count keeps what was done, and who counted what, when.
    view = manager.get(f"/stocktakes/{count_id}?scans=true").get_json()
    assert all(d["resolution"] and d["resolved_by"] == "manager" for d in view["differences"])
    assert {d["resolution"] for d in view["differences"]} == {"mark_missing", "move_here",
                                                              "receive"}
    assert all(not d["resolutions"] for d in view["differences"])
    assert len(view["scans"]) == 38
    assert {s["user"] for s in view["scans"]} == {"picker"}
    assert all(s["at"] and s["location"] == "A1" for s in view["scans"])
    assert view["counted_by"][0]["user"] == "picker" and view["counted_by"][0]["scans"] == 38

    # A second count of the shelf now agrees with the records.
    again_id = start(manager, location="A1")
    count(picker, again_id, sorted(shelf))
    p = manager.post(f"/stocktakes/{again_id}/close").get_json()["progress"]
    assert (p["expected"], p["found"], p["missing"], p["unexpected"]) == (38, 38, 0, 0)


def test_a_missing_unit_turns_up_in_a_count_or_a_move(manager, picker):
    setup_shop(manager)
    receive(manager, "A1", (1, 2, 3))
    first = start(manager, location="A1")
    count(picker, first, [imei(1)])
    manager.post(f"/stocktakes/{first}/close")
    assert manager.post(f"/stocktakes/{first}/resolve", {
        "action": "mark_missing", "differences": "all"}).status_code == 200
    assert statuses(manager, imei(2), imei(3)) == {imei(2): ("missing", "A1"),
                                                    imei(3): ("missing", "A1")}
    # Missing is not stock: not counted on hand, cannot be picked, says why.
    assert manager.get("/products/PHONE").get_json()["on_hand"] == 1
    r = picker.post("/pick", {"order": "SO1", "serials": [imei(2)]}).get_json()["results"][0]
    assert r["error"]["code"] == "serial_not_available" and "missing" in r["error"]["message"]
    assert manager.get("/serials?status=missing").get_json()["total"] == 2
    assert manager.get("/reports/stock").status_code == 200

    # Scanned in a later count of another place: unexpected, and "move it here" finds it.
    second = start(manager, location="A2")
    body = count(picker, second, [imei(2)])
    assert body["results"][0]["expected"] is False
    assert "missing" in body["results"][0]["note"]
    diffs = manager.post(f"/stocktakes/{second}/close").get_json()["differences"]
    (d,) = [d for d in diffs if d["serial"] == imei(2)]
    assert (d["kind"], d["reason"], d["recorded_status"]) == ("unexpected", "status", "missing")
    assert d["resolutions"] == ["move_here", "ignore"]
    r = manager.post(f"/stocktakes/{second}/resolve", {"action": "move_here",
                                                        "differences": [d["id"]]})
    assert r.get_json()["results"][0]["resolution"] == "found"
    assert statuses(manager, imei(2))[imei(2)] == ("in_stock", "A2")
    last = history(manager, imei(2))[-1]
    assert (last["type"], last["from_status"], last["to_status"]) == ("found", "missing",
                                                                     "in_stock")
    # Picked up and moved by a picker: found too, where it was put.
    r = picker.post("/move", {"location": "A2", "serials": [imei(3)]}).get_json()["results"][0]
    assert r["ok"] and r["status"] == "in_stock" and "found" in r["note"]
    assert [e["type"] for e in history(manager, imei(3))][-2:] == ["mark_missing", "found"]
    # A missing unit can be written off (a theft or loss).
    receive(manager, "A1", (4,))
    third = start(manager, location="A1")
    manager.post(f"/stocktakes/{third}/close")
    manager.post(f"/stocktakes/{third}/resolve", {"action": "mark_missing", "differences": "all"})
    r = manager.post("/scrap", {"serials": [imei(4)], "reason": "lost"}).get_json()["results"]
    assert r[0]["ok"] and r[0]["status"] == "scrapped"


def test_counts_of_a_product_and_of_the_site_say_where(manager, picker):
    setup_shop(manager)
    receive(manager, "A1", (1, 2))
    receive(manager, "A2", (3,))
    assert manager.post("/receive", {"location": "A1", "sku": "CASE",
                                     "serials": ["CS-0001"]}).status_code == 200
    product = start(manager, sku="PHONE")
    # Another product is not part of a count of PHONE.
    r = count(picker, product, ["CS-0001"], location="A1")["results"][0]
    assert not r["ok"] and r["error"]["code"] == "not_in_count"
    count(picker, product, [imei(1), imei(3)], location="A1")  # imei(3) is recorded at A2
    p = manager.get(f"/stocktakes/{product}").get_json()["progress"]
    assert (p["expected"], p["found"], p["unexpected"]) == (3, 1, 1)
    assert p["by_location"] == [{"location": "A1", "expected": 2, "found": 1},
                                {"location": "A2", "expected": 1, "found": 0}]
    # One count per scope at a time: a second manager joins the first.
    r = manager.post("/stocktakes", {"sku": "PHONE"})
    assert r.status_code == 409 and r.get_json()["error"]["code"] == "stocktake_already_open"

    site = start(manager)
    assert manager.get(f"/stocktakes/{site}").get_json()["title"] == "the whole site"
    count(picker, site, [imei(1), imei(2), "CS-0001"], location="A1")
    count(picker, site, [imei(3)])  # no place said: found wherever it is recorded
    view = manager.post(f"/stocktakes/{site}/close").get_json()
    p = view["progress"]
    assert (p["expected"], p["found"], p["missing"], p["unexpected"]) == (4, 4, 0, 0)
    listed = manager.get("/stocktakes").get_json()["stocktakes"]
    assert [c["id"] for c in listed] == [site, product]
    assert manager.get("/stocktakes?status=open").get_json()["stocktakes"][0]["id"] == product
    # Scans into a closed count are refused, whole and per step.
    r = picker.post(f"/stocktakes/{site}/scans", {"serials": [imei(1)]})
    assert r.status_code == 409 and r.get_json()["error"]["code"] == "stocktake_closed"
    assert manager.post(f"/stocktakes/{site}/close").status_code == 409
    # A count of a location counts there only.
    shelf = start(manager, location="A1")
    r = picker.post(f"/stocktakes/{shelf}/scans", {"serials": [imei(1)], "location": "A2"})
    assert r.status_code == 400 and r.get_json()["error"]["code"] == "not_in_count"
    # Resolving waits for the close.
    r = manager.post(f"/stocktakes/{shelf}/resolve", {"action": "ignore", "differences": [1]})
    assert r.status_code == 409 and r.get_json()["error"]["code"] == "stocktake_not_closed"
    assert manager.get("/stocktakes/999").status_code == 404


def test_resending_a_scan_with_its_key_changes_nothing_and_a_location_label_is_no_serial(
        manager, picker):
    setup_shop(manager)
    receive(manager, "A1", (1, 2))
    count_id = start(manager, location="A1")
    first = picker.post(f"/stocktakes/{count_id}/scans", {"serials": [imei(1)]}, key="off-1")
    again = picker.post(f"/stocktakes/{count_id}/scans", {"serials": [imei(1)]}, key="off-1")
    assert again.headers.get("Idempotent-Replayed") == "true"
    assert again.get_json() == first.get_json()
    r = count(picker, count_id, ["a2"])["results"][0]
    assert not r["ok"] and r["error"]["code"] == "not_a_serial"
    view = manager.get(f"/stocktakes/{count_id}?scans=true").get_json()
    assert [s["serial"] for s in view["scans"]] == [imei(1)]
    # Resolving twice, or the wrong fix, changes nothing more.
    manager.post(f"/stocktakes/{count_id}/close")
    (d,) = manager.get(f"/stocktakes/{count_id}").get_json()["differences"]
    wrong = manager.post(f"/stocktakes/{count_id}/resolve", {"action": "receive",
                                                             "differences": [d["id"]]})
    assert wrong.get_json()["results"][0]["error"]["code"] == "resolution_not_allowed"
    for _ in range(2):
        r = manager.post(f"/stocktakes/{count_id}/resolve", {"action": "mark_missing",
                                                             "differences": [d["id"]]})
    assert r.get_json()["results"][0]["repeat"] is True
    assert [e["type"] for e in history(manager, imei(2))] == ["receive", "mark_missing"]
    r = manager.post(f"/stocktakes/{count_id}/resolve", {"action": "ignore",
                                                         "differences": [12345]})
    assert r.get_json()["results"][0]["error"]["code"] == "unknown_difference"


def _post(url, token, body):
    request = urllib.request.Request(url, data=json.dumps(body).encode(), method="POST", headers={
        "Authorization": f"Bearer {token}", "Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=60) as response:
        return response.status, json.loads(response.read())


def test_several_people_counting_at_once_neither_double_nor_lose(live_server, manager, users):
    """Four people scan the same 40 units at the same moment (two front to back, two back
    to front), one serial per request as a wedge sends them: each unit is counted once,
    none is lost."""
    setup_shop(manager)
    receive(manager, "A1", range(1, 41))
    count_id = start(manager, location="A1")
    url = f"{live_server}/api/stocktakes/{count_id}/scans"
    added = []
    errors = []
    lists = [range(1, 41), range(1, 41), range(40, 0, -1), range(40, 0, -1)]
    go = threading.Barrier(len(lists))

    def person(numbers, token):
        go.wait()
        for n in numbers:
            try:
                status, body = _post(url, token, {"serials": [imei(n)]})
            except Exception as exc:  # noqa: BLE001 - reported below
                errors.append(repr(exc))
                continue
            if status != 200 or not body["results"][0]["ok"]:
                errors.append(body)
            added.append(body["added"])
    tokens = [users["picker"], users["manager"], users["admin"], users["picker"]]
    threads = [threading.Thread(target=person, args=(ns, t)) for ns, t in zip(lists, tokens)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert sum(added) == 40
    view = manager.get(f"/stocktakes/{count_id}?scans=true").get_json()
    assert len(view["scans"]) == 40 and view["progress"]["found"] == 40
    p = manager.post(f"/stocktakes/{count_id}/close").get_json()["progress"]
    assert (p["found"], p["missing"], p["unexpected"]) == (40, 0, 0)


def test_the_pages_start_count_close_and_fix_with_one_tap(app, manager, picker):
    from tests.integration.test_auth_and_pages import csrf_of, login
    setup_shop(manager)
    receive(manager, "A1", (1, 2, 3))
    client = app.test_client()
    login(client, "manager")
    assert "Start a count" in client.get("/counts").get_data(True)
    r = client.post("/counts", data={"location": "A1", "sku": "", "csrf_token": csrf_of(client)})
    assert r.status_code == 302
    page_url = r.headers["Location"]
    count_id = int(page_url.rstrip("/").rsplit("/", 1)[1])
    page = client.get(page_url).get_data(True)
    assert "0</strong> of <strong id=\"count-expected\">3</strong> found" in page
    assert f'data-endpoint="/api/stocktakes/{count_id}/scans"' in page
    count(picker, count_id, [imei(1), imei(2), UNKNOWN])
    page = client.get(page_url).get_data(True)
    assert "2</strong> of <strong id=\"count-expected\">3</strong> found" in page
    r = client.post(f"/counts/{count_id}/close", data={"csrf_token": csrf_of(client)},
                    follow_redirects=True)
    page = r.get_data(True)
    assert "Closed: 2 of 3 found, 1 missing, 1 unexpected." in page
    assert "Missing (1)" in page and "Unexpected (1)" in page and "not known here" in page
    view = manager.get(f"/stocktakes/{count_id}").get_json()
    (gone,) = [d for d in view["differences"] if d["kind"] == "missing"]
    (new,) = [d for d in view["differences"] if d["kind"] == "unexpected"]
    r = client.post(f"/counts/{count_id}/resolve", data={
        "csrf_token": csrf_of(client), "difference": gone["id"], "action": "mark_missing"},
        follow_redirects=True)
    assert f"{imei(3)}: marked missing." in r.get_data(True)
    r = client.post(f"/counts/{count_id}/resolve", data={
        "csrf_token": csrf_of(client), "difference": new["id"], "action": "receive", "sku": ""},
        follow_redirects=True)
    assert "Which product is this" in r.get_data(True)  # said, and nothing done
    r = client.post(f"/counts/{count_id}/resolve", data={
        "csrf_token": csrf_of(client), "difference": new["id"], "action": "quarantine",
        "sku": "PHONE"}, follow_redirects=True)
    assert f"{UNKNOWN}: quarantined." in r.get_data(True)
    assert [e["type"] for e in history(manager, UNKNOWN)] == ["receive", "quarantine"]
    assert statuses(manager, UNKNOWN)[UNKNOWN] == ("quarantined", "A1")
    # Past counts list it; a picker sees the list and the page, not the manager's buttons.
    picker_client = app.test_client()
    login(picker_client, "picker")
    listing = picker_client.get("/counts").get_data(True)
    assert f"{count_id}: A1" in listing and "Start a count" not in listing
    page = picker_client.get(page_url).get_data(True)
    assert "marked missing" in page and 'name="action"' not in page
    assert picker_client.post(f"/counts/{count_id}/close",
                              data={"csrf_token": csrf_of(picker_client)}).status_code == 403


def test_a_unit_a_count_did_not_find_in_the_book_and_a_recall(manager):
    """Missing is not a disposition: the bound book still shows the unit acquired and not
    disposed of, until a theft or loss is recorded for it (which a missing unit may take).
    A recall lists it as missing, with where it was last, and does not quarantine it."""
    assert manager.post("/products", {"sku": "G17", "name": "Pistol", "attributes": {
        "book": True}}).status_code == 201
    assert manager.post("/locations", {"code": "SAFE", "kind": "storage"}).status_code == 201
    assert manager.post("/receive", {"location": "SAFE", "sku": "G17", "lot": "L1",
                                     "serials": ["ABC101", "ABC102"]}).status_code == 200
    count_id = start(manager, location="SAFE")
    count(manager, count_id, ["ABC101"])
    manager.post(f"/stocktakes/{count_id}/close")
    manager.post(f"/stocktakes/{count_id}/resolve", {"action": "mark_missing",
                                                     "differences": "all"})
    entries = manager.get("/reports/acquisitions-dispositions?serial=ABC102").get_json()["entries"]
    assert [(e["acquired_on"] != "", e["disposed_on"]) for e in entries] == [(True, "")]
    recall = manager.get("/recall?lot=L1").get_json()
    assert recall["by_status"] == {"in_stock": 1, "missing": 1} and recall["in_stock"] == 1
    (unit,) = [u for u in recall["units"] if u["serial"] == "ABC102"]
    assert (unit["status"], unit["location"]) == ("missing", "SAFE")
    r = manager.post("/book/theft-loss", {"serial": "ABC102", "sku": "G17", "kind": "loss",
                                          "atf_incident": "T1", "police_incident": "P1"})
    assert r.status_code == 201, r.get_json()
    entries = manager.get("/reports/acquisitions-dispositions?serial=ABC102").get_json()["entries"]
    assert entries[-1]["theft_loss"] == "loss"
