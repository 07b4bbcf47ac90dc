"""``python -m scripts.adaptive_step [--quick] [--run-dir DIR] ...`` (see ``--help``)."""

from scripts.adaptive_step.run import main

if __name__ == "__main__":
    main()
