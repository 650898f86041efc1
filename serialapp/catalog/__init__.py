"""Managers' set-up: products, locations, customers, suppliers, purchase and sales orders.
Each function validates the fields of a JSON body (or a page's form, turned into the same
dict) and writes them in one transaction, so the API and the pages share one set of rules.

Split by what it is about: fields (reading and checking one field), products, places
(locations), parties (customers, suppliers) and orders."""
from .fields import checking_only
from .orders import (cancel_purchase_order, close_purchase_order, create_purchase_order,
                     create_sales_order)
from .parties import (create_customer, create_supplier, supplier_for, update_customer,
                      update_supplier)
from .places import create_location, update_location
from .products import ATTRIBUTE_NAMES, create_product, update_product

__all__ = ["ATTRIBUTE_NAMES", "checking_only", "cancel_purchase_order", "close_purchase_order",
           "create_customer", "create_location", "create_product", "create_purchase_order",
           "create_sales_order", "create_supplier", "supplier_for", "update_customer",
           "update_location", "update_product", "update_supplier"]
