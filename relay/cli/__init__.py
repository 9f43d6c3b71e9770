"""The `relay` command line (click); `relay.cli.main` is the console script."""
