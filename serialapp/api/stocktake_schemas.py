"""Models for the stocktake (cycle count) endpoints: what each takes and answers, validated
and published in /api/openapi.json like the rest (api/spec.py)."""
from typing import Annotated, Any, Literal, Optional

from pydantic import Field, create_model

from .. import stocktake
from .schemas import ActionBase, Body, Images, Key, Open, Query, Serials, StepResult


class StocktakeCreate(Body):
    location: Key | None = Field(None, description="Count one location (its code).")
    sku: Key | None = Field(None, description="Count one product, wherever it is. With "
                                              "neither, the whole site.")


class StocktakeListQuery(Query):
    status: Literal[stocktake.OPEN, stocktake.CLOSED] | None = Field(
        None, description="Only open or only closed counts.")


class StocktakeQuery(Query):
    scans: bool | None = Field(None, description="true: list every serial counted, with "
                                                 "who, where, when and how.")


class StocktakeScans(ActionBase):
    serials: Serials | None = None
    location: Key | None = Field(None, description="Where these were counted: for a count of "
                                 "a product or the site (a count of a location is there).")
    sku: Key | None = Field(None, description="Which product, when two share a serial.")


StocktakeScansForm = create_model(
    "StocktakeScansForm", __base__=StocktakeScans,
    __doc__="StocktakeScans as multipart/form-data, with photos: every code in them counts.",
    image=(Optional[Images], None))


class StocktakeResolve(Body):
    action: Literal[stocktake.RESOLUTIONS] = Field(  # type: ignore[valid-type]
        description="move_here (a missing-status unit is marked found), mark_missing, "
                    "receive (an unknown serial), quarantine, ignore (leave the records).")
    differences: Annotated[list[Annotated[int, Field(ge=1, le=2 ** 31 - 1)]],
                           Field(min_length=1, max_length=10_000)] | Literal["all"] = Field(
        description="Difference ids from GET /api/stocktakes/<id>, or \"all\": every one "
                    "still open that this action fits.")
    location: Key | None = Field(None, description="Where to move, receive or quarantine, "
                                 "when not where the count saw it.")
    sku: Key | None = Field(None, description="The product of an unknown serial to receive.")


# -------------------------------------------------------------------- responses

class Progress(Open):
    expected: int
    found: int
    missing: int
    unexpected: int
    scanned: int
    by_location: list[dict[str, Any]] = Field(description="Per location: expected, found.")


class Difference(Open):
    id: int
    kind: Literal[stocktake.MISSING, stocktake.UNEXPECTED]
    reason: str | None = Field(description="For unexpected: elsewhere, status or unknown.")
    serial: str
    sku: str | None
    recorded_status: str | None
    recorded_location: str | None
    location: str | None = Field(description="Where the count saw it (unexpected).")
    resolution: str | None
    resolutions: list[str] = Field(description="The fixes it may take now, usual first.")


class Stocktake(Open):
    id: int
    status: str
    title: str
    scope: dict[str, Any]
    started_by: str | None
    started_at: str
    closed_by: str | None
    closed_at: str | None
    progress: Progress | None = None
    summary: dict[str, Any] | None = None
    counted_by: list[dict[str, Any]] | None = None
    differences: list[Difference] | None = Field(None, description="Once closed.")
    scans: list[dict[str, Any]] | None = None


class StocktakeList(Open):
    stocktakes: list[Stocktake]


class StocktakeScanResult(Open):
    results: list[StepResult] = Field(description="status `counted`; `expected` says "
                                         "whether the records put it here.")
    added: int = Field(description="Serials this request added to the count.")
    progress: Progress
    ignored: list[dict[str, Any]] | None = None
    decoded: list[dict[str, Any]] | None = None


class StocktakeResolveResult(Open):
    results: list[StepResult] = Field(description="Per difference (`difference`: its id), "
                                         "with the serial's new status.")
