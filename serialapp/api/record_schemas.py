"""Models for the manager's answers (recall, warranty, reports, the bound book): what each
endpoint takes, so that it is validated and described in /api/openapi.json like the rest.
The views keep their own checks of values (dates, ranges, scope) with their own messages;
these models refuse what the endpoints do not take at all."""
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field

Short = Annotated[str, Field(max_length=200)]
Format = Literal["json", "csv"]


class _Query(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class _Body(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class RecallScope(_Query):
    sku: Short | None = Field(None, description="A product.")
    lot: Short | None = Field(None, description="One lot, or several separated by commas.")
    serial_from: Short | None = None
    serial_to: Short | None = None
    received_from: Short | None = Field(None, description="Receipt date window, from (YYYY-MM-DD).")
    received_to: Short | None = None
    supplier: Short | None = None
    purchase_order: Short | None = None


class RecallQuery(RecallScope):
    format: Format | None = None


class FormatQuery(_Query):
    format: Format | None = None


class NoQuery(_Query):
    pass


class WarrantyQuery(_Query):
    days: Annotated[int, Field(ge=0, le=36500)] | None = Field(
        None, description="Warranties ending within this many days.")


class StageTimesQuery(FormatQuery):
    weeks: Annotated[int, Field(ge=1, le=520)] | None = None
    threshold_hours: Annotated[int, Field(ge=1, le=100_000)] | None = None


class FlowQuery(FormatQuery):
    days: Annotated[int, Field(ge=1, le=3660)] | None = None


class BookQuery(_Query):
    format: Literal["json", "csv", "pdf"] | None = Field(
        None, description="json (default), csv, or pdf: the book's columns on landscape "
                          "pages.")
    paper: Literal["letter", "a4"] | None = Field(None, description="The PDF's paper (letter).")
    view: Literal["originals", "corrections", "both"] | None = None
    serial: Short | None = None
    acquired_on: Short | None = Field(None, description="An acquisition date (YYYY-MM-DD).")


class SaveRecall(_Body):
    name: Short | None = None
    sku: Short | None = None
    lot: Short | list[Short] | None = None
    serial_from: Short | None = None
    serial_to: Short | None = None
    received_from: Short | None = None
    received_to: Short | None = None
    supplier: Short | None = None
    purchase_order: Short | None = None


class QuarantineRecall(_Body):
    location: Short | None = Field(None, description="Move the units there too (a cage).")


class BookCorrection(_Body):
    entry: Short | int = Field(description="The entry corrected (its id in the book).")
    fields: dict = Field(description="The corrected values, by column.")
    note: Short | None = None


class TheftLoss(_Body):
    serial: Short
    sku: Short | None = None
    kind: Short = Field(description="theft or loss")
    atf_incident: Short | None = None
    police_incident: Short | None = None
