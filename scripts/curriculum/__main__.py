"""``python -m scripts.curriculum [--quick] [--run-dir DIR] ...`` (see ``--help``)."""

from scripts.curriculum.run import main

if __name__ == "__main__":
    main()
