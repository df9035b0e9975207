"""Engines: turn a resolved scenario's inputs into a log of transfers and RRC transitions."""
