"""Certification suites for pytest: thin shells over :mod:`validatiestraat.frontend` and the scenario data."""
