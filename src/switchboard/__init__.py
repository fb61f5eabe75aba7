"""Switchboard's core: what every process shares (the contract, settings, store, providers).

It imports nothing from the packages above it (`lint-imports` checks this in `make lint`).
"""
