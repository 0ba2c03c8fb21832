"""Fails when imported: the app must start anyway and say so."""

raise RuntimeError("this plugin cannot be imported")
