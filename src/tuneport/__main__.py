"""``python -m tuneport``: the ``tuneport`` command (the CLI loads only here, not on ``import tuneport``)."""

from tuneport.cli import main

if __name__ == "__main__":
    main()
