"""``python -m seqreward_serve ID --port 8000``: the same as the ``seqreward-serve`` command."""

from seqreward_serve.cli import main

main()
