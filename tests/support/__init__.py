"""Test support: builders, fixture data, settings, doubles and process helpers.

Plain code that tests and `tests/conftest.py` import; it never imports `conftest` (fixtures
live there, everything else here), as the FastAPI template's `tests/utils/`.
"""
