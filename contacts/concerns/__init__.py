"""Concerns and allegations about adults (KCSIE Part 4): raised by anyone, read by very few,
never by the person they are about."""
