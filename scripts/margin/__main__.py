"""``python -m scripts.margin [--quick] [--run-dir DIR] ...`` (see ``--help``)."""

from scripts.margin.run import main

if __name__ == "__main__":
    main()
