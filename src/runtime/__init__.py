"""The composition root: the CLI and everything that wires the other packages into processes.

It sits on top of every other package and is imported by none of them.
"""
