"""The CSV exports resource."""
