"""flux-recon plugin: monnify (being written)."""
