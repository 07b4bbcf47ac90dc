"""``python -m scripts.lq [--quick] [--run-dir DIR] ...`` (see ``--help``)."""

from scripts.lq.run import main

if __name__ == "__main__":
    main()
