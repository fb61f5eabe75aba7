"""Typed provider events parsed from verified webhook fields."""
