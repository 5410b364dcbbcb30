"""flux-recon plugin: fuspay (being written)."""
