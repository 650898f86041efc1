"""serialapp: serial-number inventory tracking with phones instead of scanners.

Empty of Flask on purpose: the pure modules (lifecycle, serials, identifiers, patterns,
checkdigits, messages, scanning) import without the framework. The app factory is
`serialapp.app.create_app`."""
