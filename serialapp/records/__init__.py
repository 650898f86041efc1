"""The read side's printables: recall, warranty, reports, the bound book, labels.
`stats` is pure (no Flask); the other modules read the database through the models and
write nothing but what the manager confirms (a saved recall, a book correction), and
serial state only through `inventory`."""
