"""The command line: options and commands (commands.py), and the one error boundary (core.py)."""
