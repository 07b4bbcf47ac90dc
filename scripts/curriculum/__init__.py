"""The field's ways around zero-gradient groups (dynamic sampling, difficulty filters, curricula) measured
against the base model barrier: reward queries to a target as N grows. Run as ``python -m scripts.curriculum``."""
