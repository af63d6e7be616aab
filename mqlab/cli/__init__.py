"""The command line: the typer app and `chart` (app.py), every option defined once
(options.py), the measuring commands (measure.py; crash-test and sweep in stress.py), the live
pieces (live.py), and the one error boundary (core.py)."""
