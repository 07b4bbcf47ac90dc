"""``python -m scripts.figure1 [--quick] [--run-dir DIR] ...``: the paper's Figure 1 (see ``--help``)."""

from scripts.figure1.run import main

if __name__ == "__main__":
    main()
