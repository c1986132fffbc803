"""The `greentune` command line."""
