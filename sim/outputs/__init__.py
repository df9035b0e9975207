"""Outputs: result files, plots and the terminal report."""
