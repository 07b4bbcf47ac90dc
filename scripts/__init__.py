"""The experiments and tools, each run from the repository root as ``python -m scripts.<name>``: one package
per experiment (``settings``, ``analysis``, ``jobs``, ``plots``, ``run``, ``__main__``), what several share in
``scripts.common`` below them, and single-module tools (the benchmarks, ``demo``, ``train_sb3``, ``paper_task``)."""
