"""The run machinery: run folders, the one training loop (``runs.train``), sweeps and Tune searches,
command lines, TensorBoard, statistics over seeds, seed derivation and the paper's task file."""
