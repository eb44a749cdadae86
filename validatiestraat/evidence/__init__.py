"""Evidence of a run: every HTTP exchange, recorded raw on both sides of the straat, redacted on output."""

from validatiestraat.evidence.exchange import Exchange
from validatiestraat.evidence.recorder import Recorder, RecordingMiddleware, RecordingTransport

__all__ = ["Exchange", "Recorder", "RecordingMiddleware", "RecordingTransport"]
