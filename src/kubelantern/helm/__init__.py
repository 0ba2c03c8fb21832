"""Helm releases: read from Helm's own storage, changed only by the helm binary."""
