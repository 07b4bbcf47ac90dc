"""``python -m scripts.llm_figure1 [--quick] [--run-dir DIR] ...`` (see ``--help``)."""

from scripts.llm_figure1.run import main

if __name__ == "__main__":
    main()
