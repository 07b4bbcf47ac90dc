"""``python -m scripts.compare_sb3 [--quick] [--run-dir DIR] ...`` (see ``--help``)."""

from scripts.compare_sb3.run import main

if __name__ == "__main__":
    main()
