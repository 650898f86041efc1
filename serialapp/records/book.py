"""The acquisition and disposition book (27 CFR 478.125(e); ATF Ruling 2016-1 allows it
kept electronically) for products marked as book items (attribute `book`: true).

The original entries are the events themselves (receive and return acquire; ship and
scrap dispose), so nothing can edit them. A correction is a new row (BookEntry) naming
the event whose entry it corrects and, for a second correction, the one before; theft or
loss is a disposition: the unit is scrapped through the service layer and the incident
numbers are kept beside its scrap event. The Form 4473 transaction number given when an
order ships is kept the same way, beside each book item's ship event."""
from datetime import date

from sqlalchemy import select
from sqlalchemy.orm import joinedload

from .. import inventory
from ..errors import RequestError, bad_request, not_found
from ..extensions import db
from ..models import BookEntry, Event, Product, PurchaseOrder, Serial

ACQUIRE = ("receive", "return")
DISPOSE = ("ship", "scrap")
VIEWS = ("originals", "corrections", "both")

# The book's columns, in its printed order, with what each holds (the CSV's column file).
COLUMNS = [
    ("entry", "Entry number: E<event id> for an original entry, C<id> for a correction"),
    ("corrects", "For a correction, the entry it corrects; originals are never changed"),
    ("serial", "Serial number"),
    ("manufacturer", "Manufacturer (product attribute manufacturer)"),
    ("importer", "Importer, if any (product attribute importer)"),
    ("model", "Model (product attribute model)"),
    ("type", "Type, e.g. pistol, rifle (product attribute type)"),
    ("caliber", "Caliber or gauge (product attribute caliber)"),
    ("acquired_on", "Date of acquisition (UTC date)"),
    ("acquired_from", "From whom acquired: name and address"),
    ("acquired_from_licence", "From whom acquired: licence (FFL) number, if licensed"),
    ("disposed_on", "Date of disposition (UTC date)"),
    ("disposed_to", "To whom disposed: name and address"),
    ("disposed_to_licence", "To whom disposed: licence (FFL) number, if licensed"),
    ("form_4473", "ATF Form 4473 transaction number of the disposition, where the shop files "
                  "its 4473s by number: given when the order shipped (Ship page, or "
                  "form_4473 of POST /api/ship)"),
    ("theft_loss", "For a theft or loss: 'theft' or 'loss'"),
    ("atf_incident", "ATF theft/loss incident number"),
    ("police_incident", "Police incident number"),
    ("note", "Why a correction was made, or the event's note"),
]
NAMES = [c for c, _ in COLUMNS]
CORRECTABLE = set(NAMES) - {"entry", "corrects", "note"}
# Short names for the correction form, in the book's order.
LABELS = {"serial": "Serial", "manufacturer": "Manufacturer", "importer": "Importer",
          "model": "Model", "type": "Type", "caliber": "Caliber or gauge",
          "acquired_on": "Acquired on", "acquired_from": "Acquired from: name and address",
          "acquired_from_licence": "Acquired from: licence", "disposed_on": "Disposed of on",
          "disposed_to": "Disposed to: name and address",
          "disposed_to_licence": "Disposed to: licence", "form_4473": "Form 4473 number",
          "theft_loss": "Theft or loss", "atf_incident": "ATF incident number",
          "police_incident": "Police incident number"}
assert set(LABELS) == CORRECTABLE


def is_book_item(product: Product) -> bool:
    return bool((product.attributes or {}).get("book"))


def _party(name, address):
    return ", ".join(p.strip().replace("\n", ", ") for p in (name, address) if p)


def _original(e: Event, incidents: dict, forms: dict) -> dict:
    s, attrs = e.serial, e.serial.product.attributes or {}
    row = {c: "" for c in NAMES}
    row.update(entry=f"E{e.id}", serial=s.serial, note=e.note or "",
               **{k: str(attrs.get(k, "")) for k in ("manufacturer", "importer", "model",
                                                     "type", "caliber")})
    day = e.at.date().isoformat()
    if e.type in ACQUIRE:
        row["acquired_on"] = day
        if e.type == "receive" and e.purchase_order:
            sup = e.purchase_order.supplier
            row["acquired_from"] = _party(sup.name, sup.address)
            row["acquired_from_licence"] = sup.licence or ""
        elif e.customer:
            row["acquired_from"] = _party(e.customer.name, e.customer.address)
            row["acquired_from_licence"] = e.customer.licence or ""
    else:
        row["disposed_on"] = day
        if e.type == "ship" and e.customer:
            row["disposed_to"] = _party(e.customer.name, e.customer.address)
            row["disposed_to_licence"] = e.customer.licence or ""
        if e.id in forms:
            row["form_4473"] = forms[e.id].fields.get("form_4473", "")
        loss = incidents.get(e.id)
        if loss:
            row.update(theft_loss=loss.fields.get("kind", ""),
                       atf_incident=loss.fields.get("atf_incident", ""),
                       police_incident=loss.fields.get("police_incident", ""),
                       disposed_to=loss.fields.get("kind", "").upper())
    return row


def entries(view: str = "both", serial: str | None = None,
            acquired_on: date | None = None) -> list[dict]:
    if view not in VIEWS:
        raise bad_request(f"view must be one of {', '.join(VIEWS)}.", "invalid_field")
    query = (select(Event).join(Event.serial).join(Serial.product)
             .options(joinedload(Event.serial).joinedload(Serial.product),
                      joinedload(Event.customer),
                      joinedload(Event.purchase_order).joinedload(PurchaseOrder.supplier))
             .where(Event.type.in_(ACQUIRE + DISPOSE))
             .order_by(Event.id))
    if serial:
        query = query.where(Serial.serial_key.in_({serial, serial.casefold()}))
    events = [e for e in db.session.scalars(query).unique() if is_book_item(e.serial.product)]
    if acquired_on:
        # By acquisition date: the units acquired that day, with every entry of theirs.
        units = {e.serial_id for e in events if e.type in ACQUIRE and e.at.date() == acquired_on}
        events = [e for e in events if e.serial_id in units]
    ids = [e.id for e in events]
    extra = db.session.scalars(select(BookEntry).where(BookEntry.event_id.in_(ids))
                               .order_by(BookEntry.id)).all() if ids else []
    incidents = {b.event_id: b for b in extra if b.kind == "theft_loss"}
    forms = {b.event_id: b for b in extra if b.kind == "form_4473"}
    originals = {e.id: _original(e, incidents, forms) for e in events}
    rows = []
    for e in events:
        if view in ("originals", "both"):
            rows.append(originals[e.id])
        if view in ("corrections", "both"):
            for b in extra:
                if b.kind == "correction" and b.event_id == e.id:
                    rows.append({**originals[e.id], **b.fields, "entry": f"C{b.id}",
                                 "corrects": f"C{b.corrects_id}" if b.corrects_id else f"E{e.id}",
                                 "note": b.note or ""})
    return rows


def _book_event(event_id) -> Event:
    text = str(event_id).lstrip("Ee")
    event = db.session.get(Event, int(text)) if text.isdigit() else None
    if event is None or event.type not in ACQUIRE + DISPOSE or \
            not is_book_item(event.serial.product):
        raise not_found("unknown_entry", f"There is no book entry {event_id}.")
    return event


def entry_row(entry: str) -> dict:
    """Entry E<n> or C<n> as the book shows it (a correction: the values it makes)."""
    text = str(entry).strip().upper()
    if text.startswith("C"):
        found = db.session.get(BookEntry, int(text[1:])) if text[1:].isdigit() else None
        if found is None or found.kind != "correction":
            raise not_found("unknown_entry", f"There is no book entry {entry}.")
        event = found.event
    else:
        event = _book_event(text)
    row = next((r for r in entries("both", event.serial.serial) if r["entry"] == text), None)
    if row is None:
        raise not_found("unknown_entry", f"There is no book entry {entry}.")
    return row


def correct(entry: str, fields: dict, note: str, user_id: int) -> BookEntry:
    """A correction of entry E<n> (or of the correction C<n>): a new row; nothing changes."""
    if not isinstance(fields, dict) or not fields:
        raise bad_request("Give the corrected fields.", "missing_field", field="fields")
    wrong = sorted(set(fields) - CORRECTABLE)
    if wrong:
        raise bad_request(f"These are not book columns one can correct: {', '.join(wrong)}.",
                          "invalid_field", field="fields")
    if not all(isinstance(v, str) and len(v) <= 500 for v in fields.values()):
        raise bad_request("Each corrected field is a text of at most 500 characters.",
                          "invalid_field", field="fields")
    if not isinstance(note, str) or not note.strip():
        raise bad_request("Say why the entry is corrected.", "missing_field", field="note")
    corrects_id = None
    if str(entry).upper().startswith("C"):
        prior = db.session.get(BookEntry, int(entry[1:])) if entry[1:].isdigit() else None
        if prior is None or prior.kind != "correction":
            raise not_found("unknown_entry", f"There is no book entry {entry}.")
        event, corrects_id = prior.event, prior.id
        fields = {**prior.fields, **fields}
    else:
        event = _book_event(entry)
    row = BookEntry(kind="correction", event_id=event.id, corrects_id=corrects_id,
                    fields=fields, note=note.strip(), user_id=user_id)
    db.session.add(row)
    db.session.commit()
    return row


def theft_loss(actor: inventory.Actor, *, serial: str, sku: str | None, kind: str,
               atf_incident: str, police_incident: str) -> dict:
    """Record a theft or loss: the unit is scrapped (its disposition, one event) and the
    incident numbers are kept with that event."""
    if kind not in ("theft", "loss"):
        raise bad_request("kind must be theft or loss.", "invalid_field", field="kind")
    for name, value in (("atf_incident", atf_incident), ("police_incident", police_incident)):
        if not isinstance(value, str) or not value.strip() or len(value) > 64:
            raise bad_request(f"{name} is needed (at most 64 characters).", "missing_field",
                              field=name)
    outcome = inventory.set_aside(actor, "scrap", serials=[serial], sku=sku,
                                  reason=f"{kind.capitalize()}: ATF incident {atf_incident}, "
                                         f"police incident {police_incident}")
    result = outcome.results[0]
    if not result.get("ok"):
        raise RequestError(409, result["error"]["code"], result["error"]["message"])
    event = db.session.scalars(select(Event).join(Event.serial).join(Serial.product)
                               .where(Serial.serial == result["serial"],
                                      Product.sku == result["sku"], Event.type == "scrap")
                               .order_by(Event.id.desc())).first()
    db.session.add(BookEntry(kind="theft_loss", event_id=event.id, user_id=actor.user_id,
                             fields={"kind": kind, "atf_incident": atf_incident.strip(),
                                     "police_incident": police_incident.strip()}))
    db.session.commit()
    return result


def ship(actor: inventory.Actor, *, order=None, partial=False,
         form_4473: str | None = None) -> inventory.Outcome:
    """Ship an order (inventory.ship); with a Form 4473 transaction number, keep it beside
    the ship event of each book item that went, for the book's disposition entry."""
    number = form_4473.strip() if isinstance(form_4473, str) else None
    if number and not number.isprintable():
        raise bad_request("form_4473 must be printable text.", "invalid_field",
                          field="form_4473")
    outcome = inventory.ship(actor, order=order, partial=partial)
    if number:
        _keep_form_4473(order, outcome, number, actor.user_id)
    return outcome


def _keep_form_4473(order: str, outcome: inventory.Outcome, number: str, user_id) -> None:
    shipped = {(r["serial"], r.get("sku")) for r in outcome.results if r.get("ok")}
    so_id = inventory.get_sales_order(order).id
    latest: dict[int, Event] = {}
    for e in db.session.scalars(select(Event).join(Event.serial).join(Serial.product)
                                .options(joinedload(Event.serial).joinedload(Serial.product))
                                .where(Event.sales_order_id == so_id, Event.type == "ship")
                                .order_by(Event.id)):
        if (e.serial.serial, e.serial.product.sku) in shipped and is_book_item(e.serial.product):
            latest[e.serial_id] = e
    if not latest:
        return
    # A retried request (Idempotency-Key) must not write the number twice.
    kept = set(db.session.scalars(select(BookEntry.event_id).where(
        BookEntry.kind == "form_4473", BookEntry.event_id.in_([e.id for e in latest.values()]))))
    for e in latest.values():
        if e.id not in kept:
            db.session.add(BookEntry(kind="form_4473", event_id=e.id, user_id=user_id,
                                     fields={"form_4473": number}))
    db.session.commit()


def form_4473_numbers(order_id: int) -> list[tuple[str, str]]:
    """(serial, Form 4473 number) of an order's shipped book items, for its page."""
    return db.session.execute(
        select(Serial.serial, BookEntry.fields).join(Event, Event.id == BookEntry.event_id)
        .join(Serial, Serial.id == Event.serial_id)
        .where(BookEntry.kind == "form_4473", Event.sales_order_id == order_id)
        .order_by(BookEntry.id)).all()


def parse_day(text) -> date | None:
    if not text:
        return None
    try:
        return date.fromisoformat(str(text))
    except ValueError:
        raise bad_request("acquired_on must be a date like 2024-03-31.", "invalid_field",
                          field="acquired_on") from None
