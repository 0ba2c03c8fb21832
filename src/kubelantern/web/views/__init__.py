"""One module per page family; each view returns ``render(...)`` of one dict."""
