"""One module per widget, each styled by its DEFAULT_CSS."""
