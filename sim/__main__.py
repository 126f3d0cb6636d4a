"""``python -m sim``: the ``billsim`` command line."""

from sim.faces.cli import main

if __name__ == "__main__":
    main()
