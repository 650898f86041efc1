"""Receive, move, pick, unpick, ship, return, quarantine, release, scrap: the only code
that writes serial state. Each serial is its own transaction, so one bad scan in a batch
refuses that scan alone; an unexpected error stops the batch with an honest answer (the
serials before it done, it and the rest `not_done`: steps._run_steps). A ship is one
transaction: the order's picked units go together or not at all.

Concurrency: every serial carries a `version`; a transition is a conditional UPDATE on
(id, version) and a row count other than 1 means another request got there first, so
the step is rolled back and re-read (it then fails with the real reason). Order lines
are guarded the same way (`filled_qty < qty` in the UPDATE). This holds on SQLite (writes
are serialised, WAL + busy timeout) and on PostgreSQL (row locks, READ COMMITTED).

The package splits by what the code is about: base (actor, outcome), lookups (what a
request names), steps (how state is written), and one module per family of actions."""
from .base import MAX_GENERATE, MAX_SERIALS_PER_REQUEST, NOT_OURS, Actor, Outcome
from .lookups import (
                      Unit,
                      by_key,
                      canonical_serial,
                      find_serial,
                      get_location,
                      get_product,
                      get_purchase_order,
                      get_sales_order,
                      product_by_gtin,
)
from .movement import move, return_, set_aside
from .orders import pick, ship, unpick
from .receive import fits, receive

__all__ = ["MAX_GENERATE", "MAX_SERIALS_PER_REQUEST", "NOT_OURS", "Actor", "Outcome", "Unit",
           "by_key", "canonical_serial", "find_serial", "get_location", "get_product",
           "get_purchase_order", "get_sales_order", "product_by_gtin", "move", "return_",
           "set_aside", "pick", "ship", "unpick", "receive", "fits"]
