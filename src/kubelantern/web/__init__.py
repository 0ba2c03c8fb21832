"""Routes, rendering, live streams, templates and static files."""
