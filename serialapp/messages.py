"""Every refusal a picker can see, in one place and in the warehouse's words.

A refusal is one short sentence that says what is wrong and what to do. It
never names the serial: the page shows each answer as "serial: message", so the serial is
named once, by the page. It shows no pattern, no field name, no `None`, no Python value.
tests/unit/test_messages.py renders every entry with sample values and checks all that.

Keys are the API's stable error code, or code/variant where one code has several reasons.
Pure: no Flask, no database."""

MESSAGES = {
    # what the request names
    "missing_field/location": "Choose a location first.",
    "missing_field/order": "Choose an order first.",
    "missing_field/serials": "Scan at least one serial.",
    "missing_field/reason": "Say why it came back.",
    "missing_field/generate_product": "Choose the product to make serials for.",
    "invalid_field/serials": "Send the serials as a list of texts.",
    "invalid_field/expiry": "The expiry date {value} is not a date: write it as year-month-day, "
                            "like 2027-03-31.",
    "invalid_field/generate": "Choose how many serials to make, a whole number from 1 to "
                              "{limit}.",
    "invalid_field/lot": "A lot number is at most {limit} characters: check the lot, or scan "
                         "its label again.",
    "invalid_field/serials_or_generate": "Scan serials or choose how many to make, not both.",
    "invalid_field/disposition": "Choose what happens to it: back to stock, quarantine or scrap.",
    "too_many": "At most {limit} serials go at once, so send the rest as another batch.",
    "unknown_location": "There is no location {value}: scan a location label, or ask a manager "
                        "to add it.",
    "unknown_order": "There is no order {value}: check the order number.",
    "unknown_sku": "There is no product {value}.",
    # GET/PATCH /api/customers/<code> and /api/suppliers/<code> of one that doesn't exist.
    "unknown_customer": "There is no customer {value}.",
    "unknown_supplier": "There is no supplier {value}.",
    "no_code_found": "No barcode was found in the photo: hold the phone steady and closer, "
                     "with more light.",
    "no_serial_template": "{sku} has no serial template to make serials from, so ask a manager "
                          "to give it one.",
    # the serial's own text
    "invalid_serial/text": "{reason}",
    "invalid_serial/no_serial_in_gs1": "This code holds no serial number, so scan the code "
                                       "that carries the serial.",
    "invalid_serial/imei_check": "The last digit of this IMEI does not check out, so scan it "
                                 "again: a digit was misread.",
    "invalid_serial/vin_check": "The check digit of this VIN does not check out, so scan it "
                                "again: a character was misread.",
    "invalid_serial/imei": "A {sku} serial is an IMEI of 15 digits: check the product, or scan "
                           "the IMEI again.",
    "invalid_serial/vin": "A {sku} serial is a VIN of 17 letters and digits: check the product, "
                          "or scan again.",
    "invalid_serial/gs1": "A {sku} serial is at most 20 letters and digits: check the product, "
                          "or scan again.",
    "invalid_serial/template": "A {sku} serial looks like {example}: check the product, or scan "
                               "again.",
    "invalid_serial/pattern": "This does not look like a {sku} serial: check the product, or "
                              "scan the label again.",
    "invalid_serial/broken_pattern": "The serial rule of {sku} cannot be used, so ask a manager "
                                     "to correct the product.",
    # which product
    "unknown_sku/gtin": "No product has the barcode {gtin}, so ask a manager to add it.",
    "unknown_sku/which": "Which product is this: choose the product, or scan its product "
                         "barcode first.",
    "sku_mismatch": "This label is for {found}, not {chosen}: choose {found}, or scan the right "
                    "label.",
    "ambiguous_serial": "This serial exists for several products ({skus}), so choose the "
                        "product and scan again.",
    "not_a_serial": "That is the product barcode, so scan the serial number.",
    "unknown_serial": "Not known here: check the number, or receive it first.",
    # receiving
    "duplicate_serial": "Already received for {sku} elsewhere, so set this unit aside and tell "
                        "a manager.",
    "sku_not_on_order/purchase": "{sku} is not on purchase order {po}.",
    "po_not_open": "Purchase order {po} is {status}, so nothing more is received on it.",
    "over_receipt": "Purchase order {po} expects {qty} of {sku}, and all have been received.",
    # a case (SSCC) scanned on the receive page
    "unknown_case": "No shipment document on {po} lists this case: open it and scan each unit.",
    "unknown_case/any": "No open purchase order lists this case: choose the order, or open it "
                        "and scan each unit.",
    # orders
    "sku_not_on_order": "{sku} is not on order {order}.",
    "order_closed": "Order {order} has already shipped.",
    "serial_not_available/picked_elsewhere": "Already picked for order {other}: unpick it "
                                             "there first if it belongs here.",
    "serial_not_available/not_pickable": "It is at {location}, which is not a place to pick "
                                         "from: move it to a shelf first.",
    "order_line_full": "Order {order} needs only {qty} of {sku}, and that line is full.",
    "serial_not_on_order": "Not picked for order {order}.",
    "order_incomplete": "Order {order} is not fully picked ({short}): pick the rest, or ship "
                        "what is picked as partial.",
    "nothing_to_ship": "Nothing is picked for order {order} yet.",
    # lifecycle (lifecycle.py says the reason; this is how it reads)
    "transition": "{reason}",
    # stocktakes (counts)
    "unknown_stocktake": "There is no count {value}: check the number in the list of counts.",
    "stocktake_closed": "This count is closed, so nothing more is counted in it.",
    "stocktake_not_closed": "Close the count first: its differences are listed then.",
    "stocktake_already_open": "A count of {value} is open already, so join that one.",
    "not_in_count": "This count is of {sku} only, so this unit is not counted in it.",
    "not_in_count/location": "This count is of {location}: count other places in a count of "
                             "their own.",
    "not_a_serial/location": "That is the label of location {location}, not a serial.",
    "unknown_difference": "There is no such difference in this count.",
    "invalid_field/differences": "Choose the differences to resolve.",
    "invalid_field/resolution": "Choose what to do about the difference.",
    "resolution_not_allowed": "That is not a fix for this difference: use one of its buttons.",
    # the server
    "busy": "The system is busy, so this will be sent again in a moment.",
    "busy/step": "The system is busy, so scan it again.",
    # an unexpected error stopped a batch (the serials before it are done)
    "not_done/failed": "Not done: something went wrong on our side, so send it again.",
    "not_done/after": "Not done: the batch stopped at an error before this one, so send it "
                      "again.",
    "not_done/whole": "Not shipped: the order ships all at once, and another of its units "
                      "could not go.",
}

# Why a unit received against a supplier's list of expected serials is suspect: received,
# but into quarantine, and shown in red with this reason.
SUSPECTS = {
    "suspect/not_listed": "Not on the supplier list for {po}: quarantined as suspect, so set it "
                          "aside for a manager.",
    "suspect/lot": "Lot {lot} is not the lot {listed} the supplier listed: quarantined as "
                   "suspect, so set it aside.",
    "suspect/expiry": "Expiry {expiry} is not the {listed} the supplier listed: quarantined as "
                      "suspect, so set it aside.",
}
MESSAGES.update(SUSPECTS)

# Answers that are not refusals: the scan had already been done. Shown apart (neither
# green nor red) on every page alike.
REPEATS = {
    "received": "Already received here.",
    "picked": "Already picked for {order}.",
    "at": "Already at {location}.",
    "counted": "Already counted in this count.",
    "resolved": "Already resolved.",
}


def say(key: str, **values) -> str:
    """The message for `key` with its values filled in."""
    return MESSAGES[key].format(**values)


def repeat(key: str, **values) -> str:
    return REPEATS[key].format(**values)


def code_of(key: str) -> str:
    """The API's error code for a message key."""
    return key.split("/", 1)[0]
