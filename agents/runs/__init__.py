"""Run folders: what a run writes (config, metrics, TensorBoard events, checkpoints, the finished marker and
the manifest of written files), every file the machinery reads, validated where it is read, and the one error
of a run folder or a file (``agents.runs.problems.RunFolderError``)."""
