"""Core features written as plugins (``manager.DEFAULT_PLUGINS``).

They go through the same ``register`` and the same hooks as third-party
plugins, which keeps the hooks honest: if the core needs something a hook
cannot give, plugin authors would need it too.
"""
