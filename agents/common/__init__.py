"""What the learners and the run machinery both need, below both: config checks (``config_checks``),
seed derivation (``seeding``) and the per-process thread limit (``threads``)."""
