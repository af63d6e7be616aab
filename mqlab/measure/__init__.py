"""Measurement: load generation, runs, crash tests, sweeps, calibration, the bench, and result
files."""
