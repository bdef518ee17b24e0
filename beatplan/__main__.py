"""``python -m beatplan`` runs the command line."""

from beatplan.cli import main

if __name__ == "__main__":
    main()
