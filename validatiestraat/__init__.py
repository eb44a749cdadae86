"""validatiestraat: conformance and certification harness for the MedMij network."""

__version__ = "0.1.0"
