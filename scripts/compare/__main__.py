"""``python -m scripts.compare [--quick] [--run-dir DIR] ...`` (see ``--help``)."""

from scripts.compare.run import main

if __name__ == "__main__":
    main()
