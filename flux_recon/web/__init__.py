"""The HTTP front-end: Flask app glue, REST resources, auth, rate limits, idempotency and metrics."""
