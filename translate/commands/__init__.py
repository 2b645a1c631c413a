"""The ``translate`` subcommands: each module parses its arguments, calls the library and reports; no logic."""
