"""Inbound webhooks: the pipeline from raw request to reconciled payment, and the inbox."""
