"""``python -m scripts.robustness [--quick] [--run-dir DIR] ...`` (see ``--help``)."""

from scripts.robustness.run import main

if __name__ == "__main__":
    main()
