"""The DVA certification suite: one pytest test per case of ``fixtures/scenarios/dva``."""
