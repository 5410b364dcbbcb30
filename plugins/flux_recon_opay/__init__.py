"""flux-recon plugin: opay (being written)."""
