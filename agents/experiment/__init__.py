"""Running, above the learners and the analysis: jobs (``jobs.Job``, ``jobs.run_job``) and their parts, the
one training loop (``loop.train``), sweeps and Tune searches, and command lines. Run folders are
``agents.runs``; statistics over what runs wrote are ``agents.analysis``."""
