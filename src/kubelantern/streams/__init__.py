"""Long-lived streams to pods: logs (chunked HTTP) and exec/attach (WebSocket).

Everything here streams through: a log line or a terminal frame is passed on
as it arrives and never accumulated, so an hour-long ``follow`` costs the
server the same few kilobytes as a short one. Bounded queues give back
pressure instead of growth, and closing the consumer closes the upstream.
"""
