"""Where clusters come from and how to talk to them."""
