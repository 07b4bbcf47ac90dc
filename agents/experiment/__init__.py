"""The run machinery, above the learners: jobs and run folders, the one training loop (``loop.train``),
sweeps and Tune searches, command lines, TensorBoard, statistics over seeds and the paper's task file."""
