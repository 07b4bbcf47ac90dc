"""``python -m scripts.pass_at_k [--quick] [--run-dir DIR] ...`` (see ``--help``)."""

from scripts.pass_at_k.run import main

if __name__ == "__main__":
    main()
