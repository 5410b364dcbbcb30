"""Outbound event webhooks: the event catalog, the outbox, signing, the SSRF guard, delivery."""
