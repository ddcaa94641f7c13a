"""Checks a person runs by hand, beside the suite: each says what it measured."""
