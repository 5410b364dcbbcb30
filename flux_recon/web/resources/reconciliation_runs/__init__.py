"""The reconciliation runs resource."""
