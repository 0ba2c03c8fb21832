"""What the UI knows about kinds: discovery, Table rows, relations."""
