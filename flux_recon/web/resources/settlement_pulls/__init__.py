"""Settlement pulls of an integration: its state, and a pull now."""
