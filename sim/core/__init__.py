"""Core layer: codes, distributions, random streams, Erlang formulas, files, shared types.

Imports nothing else from ``sim``; every other layer may import it.
"""
