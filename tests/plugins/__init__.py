"""Plugins the tests load: as modules (``make_app(plugins=...)``) or as a folder (``dir/``)."""
