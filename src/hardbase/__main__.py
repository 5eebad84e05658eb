"""Allow ``python -m hardbase``."""

from hardbase.cli import main

main()
