"""The back office's forms. Each turns into the same dict the JSON API takes, so a form
and an API call go through one set of rules (catalog); these validators only catch what
is missing or mistyped before asking, in the shop's words."""
from flask_wtf import FlaskForm
from wtforms import (BooleanField, FieldList, Form, FormField, PasswordField, SelectField,
                     StringField, TextAreaField)
from wtforms.validators import InputRequired, Length, Optional, Regexp

from wtforms.fields.choices import SelectChoice

from ..catalog import ATTRIBUTE_NAMES


def choices(pairs) -> list[SelectChoice]:
    """(value, label) pairs as WTForms wants them from 3.3 on."""
    return [SelectChoice(value, label) for value, label in pairs]


class LoginForm(FlaskForm):
    name = StringField("Name", validators=[InputRequired()])
    password = PasswordField("Password", validators=[InputRequired()])
    remember = BooleanField("Keep me logged in on this phone", default=True)


def _required(what: str):
    return InputRequired(f"Fill in the {what}.")


CASE_CHOICES = choices([("", "Automatic: case counts only for GS1 serials"),
                ("yes", "Case counts: AB1 and ab1 are two units"),
                ("no", "Case does not count: AB1 and ab1 are one unit")])


class ProductForm(FlaskForm):
    sku = StringField("SKU", [_required("SKU"), Length(max=64)])
    name = StringField("Name", [_required("name"), Length(max=200)])
    gtin = StringField("GTIN (the barcode number on the box)", [Optional(), Length(max=14)])
    serial_pattern = StringField(
        "Serial pattern", [Optional(), Length(max=200)],
        description="imei, vin or gs1; a template such as OWN-{seq:06} for serials you make; "
                    "or a regular expression. Empty: any serial.")
    case = SelectField("Letter case in serials", choices=CASE_CHOICES, default="")
    warranty_days = StringField("Warranty in days", [Optional(), Regexp(
        r"^\s*\d{1,6}\s*$", message="Write the warranty as a number of days, like 365.")],
        default="0")
    manufacturer = StringField("Manufacturer", [Optional(), Length(max=200)])
    importer = StringField("Importer", [Optional(), Length(max=200)])
    model = StringField("Model", [Optional(), Length(max=200)])
    type = StringField("Type", [Optional(), Length(max=200)])
    caliber = StringField("Caliber", [Optional(), Length(max=200)])
    other = TextAreaField("Other attributes", [Optional(), Length(max=4000)],
                          description="One per line, as name: value")

    def validate_other(self, field):
        for line in (field.data or "").splitlines():
            if line.strip() and ":" not in line:
                from wtforms import ValidationError
                raise ValidationError(f"Write “{line.strip()}” as name: value.")

    def to_data(self, creating: bool) -> dict:
        attributes = {name: (getattr(self, name).data or "").strip() for name in ATTRIBUTE_NAMES}
        for line in (self.other.data or "").splitlines():
            if ":" in line:
                key, value = line.split(":", 1)
                attributes[key.strip()] = value.strip()
        data = {"name": self.name.data, "gtin": self.gtin.data or None,
                "serial_pattern": self.serial_pattern.data or None,
                "warranty_days": (self.warranty_days.data or "0").strip(),
                "attributes": {k: v for k, v in attributes.items() if k and v}}
        if creating:
            data["sku"] = self.sku.data
        if self.case.data or not creating:
            data["serials_case_sensitive"] = {"yes": True, "no": False}.get(self.case.data)
        return data

    def fill(self, product) -> None:
        self.sku.data, self.name.data, self.gtin.data = product.sku, product.name, product.gtin
        self.serial_pattern.data = product.serial_pattern
        self.case.data = "yes" if product.serials_case_sensitive else "no"
        self.warranty_days.data = str(product.warranty_days or 0)
        attributes = dict(product.attributes or {})
        for name in ATTRIBUTE_NAMES:
            getattr(self, name).data = attributes.pop(name, "")
        self.other.data = "\n".join(f"{k}: {v}" for k, v in attributes.items())


KIND_CHOICES = choices([("storage", "Storage (shelf, bin)"),
                        ("stage", "Stage (assembly, test bench)"),
                        ("dock", "Dock (goods in or out)"), ("quarantine", "Quarantine")])


class LocationForm(FlaskForm):
    code = StringField("Code (printed on its label)", [_required("code"), Length(max=64)])
    name = StringField("Name", [Optional(), Length(max=200)])
    kind = SelectField("Kind", choices=KIND_CHOICES, default="storage")
    pickable = SelectField("Pick orders from here?", choices=choices([
        ("", "Only if it is storage"), ("yes", "Yes"), ("no", "No")]), default="")

    def to_data(self, creating: bool) -> dict:
        data = {"name": self.name.data or "", "kind": self.kind.data,
                "pickable": {"yes": True, "no": False}.get(self.pickable.data)}
        if data["pickable"] is None:
            data["pickable"] = self.kind.data == "storage"
        if creating:
            data["code"] = self.code.data
        return data

    def fill(self, loc) -> None:
        self.code.data, self.name.data, self.kind.data = loc.code, loc.name, loc.kind
        self.pickable.data = "yes" if loc.pickable else "no"


class PartyForm(FlaskForm):
    """A customer or a supplier: who they are and how to reach them."""
    code = StringField("Code (short, unique)", [_required("code"), Length(max=64)])
    name = StringField("Name", [_required("name"), Length(max=200)])
    contact = StringField("Contact person", [Optional(), Length(max=200)])
    email = StringField("Email", [Optional(), Length(max=200)])
    phone = StringField("Phone", [Optional(), Length(max=64)])
    address = TextAreaField("Address", [Optional(), Length(max=1000)])
    licence = StringField("Licence number (e.g. FFL)", [Optional(), Length(max=64)])

    FIELDS = ("name", "contact", "email", "phone", "address", "licence")

    def to_data(self, creating: bool) -> dict:
        data = {name: (getattr(self, name).data or "").strip() or None for name in self.FIELDS}
        if creating:
            data["code"] = self.code.data
        return data

    def fill(self, party) -> None:
        self.code.data = party.code
        for name in self.FIELDS:
            getattr(self, name).data = getattr(party, name)


class LineForm(Form):
    """One order line; rows left empty are not lines."""
    sku = SelectField("Product", choices=[], validate_choice=False)
    qty = StringField("Quantity", [Optional(), Regexp(r"^\s*\d{1,6}\s*$",
                                                      message="Write the quantity as a number.")])


class OrderForm(FlaskForm):
    number = StringField("Order number", [_required("order number"), Length(max=64)])
    lines = FieldList(FormField(LineForm), min_entries=4)

    def line_data(self) -> list[dict]:
        return [{"sku": ln.sku.data, "qty": (ln.qty.data or "").strip() or "1"}
                for ln in self.lines if ln.sku.data]

    def validate_lines(self, field):
        if not self.line_data():
            from wtforms import ValidationError
            raise ValidationError("Choose at least one product for the order.")


class PurchaseOrderForm(OrderForm):
    supplier = StringField("Supplier (choose, or type a new one's name)",
                           [_required("supplier"), Length(max=200)])


class SalesOrderForm(OrderForm):
    customer = SelectField("Customer", [InputRequired("Choose the customer.")], choices=[])


# ---------------------------------------------------------------- users (admin)

ROLE_CHOICES = choices([("picker", "Picker: receives, moves, picks and ships"),
                        ("manager", "Manager: also products, orders, returns, reports"),
                        ("admin", "Admin: also users and API tokens")])


class NewUserForm(FlaskForm):
    name = StringField("Name (what they log in with)", [_required("name"), Length(
        max=80, message="A name is at most 80 characters.")])
    role = SelectField("Role", choices=ROLE_CHOICES, default="picker")
    password = PasswordField("Password", [_required("password"), Length(
        min=6, message="A password needs at least 6 characters.")],
        description="At least 6 characters. Tell it to them; they cannot see it here again.")


class PasswordForm(FlaskForm):
    password = PasswordField("New password", [_required("new password"), Length(
        min=6, message="A password needs at least 6 characters.")],
        description="Their sessions end and their API tokens are revoked.")


class ConfirmForm(FlaskForm):
    """A button that changes something: the form carries only the CSRF token."""
