"""The ``certledger`` subcommands, one module per group; ``api/cli.py`` dispatches."""
