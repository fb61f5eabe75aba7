"""Switchboard's core: the contract, settings, the store and the CLI shared by every process."""
