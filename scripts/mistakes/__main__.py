"""``python -m scripts.mistakes [--quick] [--run-dir DIR] ...`` (see ``--help``)."""

from scripts.mistakes.run import main

if __name__ == "__main__":
    main()
