"""The learners, each a ``Trainable`` (``agents.learners.contract``) listed in ``agents.learners.registry``:
supervised pre-training, the paper's PG, group PG (REINFORCE, RLOO, GRPO, Dr. GRPO, OBLR-PO), the theory's
algorithms (adaptive PG, best-of-m, process repair, uniform-behaviour PG) and stable-baselines3
(``agents.learners.sb3``)."""
