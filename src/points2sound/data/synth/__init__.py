"""Embedded default dataset, generated offline and deterministically: recordings, performers, shapes."""
