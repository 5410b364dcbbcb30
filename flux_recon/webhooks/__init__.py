"""The inbound webhook pipeline: route -> client IP -> auth checks -> parse -> engine -> inbox."""
