"""Advisory feeds, the local advisory store, and the Debian archive's signed indices."""
