"""``python -m scripts.barrier [--quick] [--run-dir DIR] ...`` (see ``--help``)."""

from scripts.barrier.run import main

if __name__ == "__main__":
    main()
