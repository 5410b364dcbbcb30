"""The lowest layer: domain events, metrics and stored-secret encryption, with no Flask and no database."""
