"""One recorded HTTP exchange: the request and the response (or the transport error) as they travelled."""

from __future__ import annotations

import base64
import json
from dataclasses import asdict, dataclass, field
from typing import Any

Headers = list[tuple[str, str]]


@dataclass
class Exchange:
    """A request and its response, raw. ``sender`` is the party that sent the request (``harness``, ``pgo``,
    ``browser``, or the system under test as seen by a simulator); ``receiver`` the party that answered.
    ``case`` and ``step`` say which scenario variant and which step of it the exchange belongs to.
    ``error`` is set, and ``status`` is None, when no response came (refused, timeout, TLS failure)."""

    id: str
    case: str
    step: str
    sender: str
    receiver: str
    method: str
    url: str
    request_headers: Headers
    request_body: bytes
    status: int | None = None
    response_headers: Headers = field(default_factory=list)
    response_body: bytes = b""
    started: float = 0.0  # seconds since the recorder started
    elapsed: float = 0.0  # seconds until the whole response body was read
    tls_version: str | None = None
    peer_certificate: str | None = None  # the other side's certificate: subject and DNS names
    error: str | None = None  # transport error class and message, when there is no response

    def header(self, name: str, response: bool = True) -> str | None:
        """The first header ``name`` (case-insensitive) of the response (or the request)."""
        wanted = name.lower()
        for k, v in self.response_headers if response else self.request_headers:
            if k.lower() == wanted:
                return v
        return None

    def headers(self, name: str, response: bool = True) -> list[str]:
        wanted = name.lower()
        return [v for k, v in (self.response_headers if response else self.request_headers) if k.lower() == wanted]

    @property
    def content_type(self) -> str:
        return (self.header("content-type") or "").split(";")[0].strip().lower()

    def to_json(self) -> dict[str, Any]:
        """A JSON-safe form: bodies as text when they are UTF-8, else base64."""
        data = asdict(self)
        for key in ("request_body", "response_body"):
            body: bytes = data.pop(key)
            try:
                data[key] = body.decode("utf-8")
            except UnicodeDecodeError:
                data[key + "_base64"] = base64.b64encode(body).decode("ascii")
        data["request_headers"] = [list(h) for h in self.request_headers]
        data["response_headers"] = [list(h) for h in self.response_headers]
        return data

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Exchange:
        data = dict(data)
        for key in ("request_body", "response_body"):
            if key + "_base64" in data:
                data[key] = base64.b64decode(data.pop(key + "_base64"))
            else:
                data[key] = str(data.get(key, "")).encode("utf-8")
        data["request_headers"] = [tuple(h) for h in data.get("request_headers", [])]
        data["response_headers"] = [tuple(h) for h in data.get("response_headers", [])]
        return cls(**data)

    def json_body(self) -> Any:
        """The response body parsed as JSON, or None."""
        try:
            return json.loads(self.response_body)
        except (ValueError, UnicodeDecodeError):
            return None
