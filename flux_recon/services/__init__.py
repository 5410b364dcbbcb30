"""The domain layer every front-end calls: one module per aggregate, plain values in, domain errors out."""
