"""A certification run's configuration: a TOML file, environment overrides, typed and checked.

    config = load_config(Path("straat.toml"))            # file, then VALIDATIESTRAAT_* overrides
    config = load_config(None, overrides={"target": {"fhir_base": url}, "way": "preshared"})

Precedence, lowest first: the defaults below, the TOML file, the environment, ``overrides`` (the CLI's flags).
Every mistake is a :class:`ConfigError` naming where it came from (file key or environment variable); the CLI
turns it into a usage error (exit 2). ``fixtures/config/example-dva.toml`` documents every key.

Environment (one scheme for everything; names are case-insensitive after the prefix):

- top-level keys: ``VALIDATIESTRAAT_ROLE``, ``VALIDATIESTRAAT_WAY``, ``VALIDATIESTRAAT_T``;
- a key of a section: ``VALIDATIESTRAAT_<SECTION>_<KEY>``, e.g. ``VALIDATIESTRAAT_TARGET_FHIR_BASE``,
  ``VALIDATIESTRAAT_CLIENT_CA``, ``VALIDATIESTRAAT_TIMEOUTS_MANUAL``, ``VALIDATIESTRAAT_STRAAT_BIND``;
- a list: comma-separated (``VALIDATIESTRAAT_TARGET_HOSTNAMES=dva.example.nl,api.example.nl``);
- a table (``target.resolve``, ``straat.ports``, ``tokens``): ``key=value`` pairs, comma-separated, split at the
  first ``=`` (``VALIDATIESTRAAT_TOKENS=vs-patient-verhoeven=tok1,vs-patient-brouwer=tok2``), or a JSON object.
  The tokens are the whole ``[tokens]`` table: ``VALIDATIESTRAAT_TOKENS`` replaces the file's.

Other ``VALIDATIESTRAAT_*`` variables (``VALIDATIESTRAAT_PKI_DIR``, ``VALIDATIESTRAAT_SHARED``) are not config
keys and are left alone; an unknown key inside a known section is an error (a typo must not pass silently).
"""

from __future__ import annotations

import json
import os
import re
import tomllib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from types import MappingProxyType
from typing import Any
from urllib.parse import urlsplit

from validatiestraat.medmij.lists import PROVIDER_SUFFIX
from validatiestraat.medmij.mp9 import SERVICE_ID

ENV_PREFIX = "VALIDATIESTRAAT_"
ROLES = ("dva",)
WAYS = ("auto", "manual", "preshared")
#: the reference straat's provider (``mock_providers.straat.PROVIDER``, not imported: the config stays light);
#: the default Zorgaanbiedernaam for a preshared run that names none
DEFAULT_PROVIDER = "straathuisarts@medmij"
#: listeners whose port a config may pin (what a remote DVA must reach: lists, DigiD stub, PGO callback)
PORT_NAMES = ("stelselnode", "digid", "his", "dva-front", "dva-back", "pgo-front")
_PROVIDER = re.compile(r"[a-z]{3,50}")
_SERVICE_ID = re.compile(r"[!#-.0-\[\]-}]{1,30}")
_HOSTNAME = re.compile(r"(?=.{1,253}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)(\.[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)*")


class ConfigError(ValueError):
    """The configuration cannot be used; the message says which key (or variable) and why."""


# ---------------------------------------------------------------------------------------------- the model
@dataclass(frozen=True)
class TargetConfig:
    """The DVA under test, as the ZAL and the Whitelist will list it."""

    fhir_base: str  # ResourceEndpointuri of the MP-MGB system role
    authorize_url: str | None = None  # AuthorizationEndpointuri (front channel); needed for auto and manual
    token_url: str | None = None  # TokenEndpointuri (backchannel); needed for auto and manual
    provider: str = DEFAULT_PROVIDER  # Zorgaanbiedernaam, with @medmij
    service_id: str = SERVICE_ID  # GegevensdienstId of MP9 3.0 medication as the DVA knows it
    hostnames: tuple[str, ...] = ()  # extra Whitelist names (the hosts of the three URLs are always on it)
    #: origins from which the straat's DigiD stub accepts a DVA's return (default: the authorize URL's origin)
    digid_return_origins: tuple[str, ...] = ()
    resolve: Mapping[str, str] = field(default_factory=dict)  # hostname -> IP address, like curl --resolve


@dataclass(frozen=True)
class ClientConfig:
    """The harness PGO's TLS side: its backchannel client certificate and the anchor(s) it trusts the DVA
    with. Unset: the straat's test PKI (leaf of ``pgo.straat.test``, the straat's root)."""

    cert: Path | None = None  # PEM chain: leaf first; must carry the DNS name pgo.straat.test
    key: Path | None = None
    ca: Path | None = None  # PEM bundle the DVA's server certificates must chain to (added to the straat's root)


@dataclass(frozen=True)
class Timeouts:
    request: float = 30.0  # seconds per HTTP request of the harness (connect, read, write)
    manual: float = 300.0  # seconds the manual way waits for the redirect on the PGO callback, per patient


@dataclass(frozen=True)
class StraatConfig:
    """Where the simulated parties listen, so that a remote DVA can reach the Stelselnode, the DigiD stub and
    the PGO callback."""

    bind: str = "127.0.0.1"  # address every simulator binds to; 0.0.0.0 for a DVA on another machine
    public_address: str | None = None  # the address a remote DVA must resolve *.straat.test to (printed only)
    pki_dir: Path | None = None  # the test PKI (default ~/.cache/validatiestraat/pki or $VALIDATIESTRAAT_PKI_DIR)
    ports: Mapping[str, int] = field(default_factory=dict)  # listener name -> fixed port (0 / absent: any)


@dataclass(frozen=True)
class FhirConfig:
    packages: tuple[Path, ...] = ()  # FHIR package caches searched before ~/.fhir/packages (then the wheel's)


@dataclass(frozen=True)
class RunConfig:
    role: str = "dva"
    way: str = "auto"  # auto | manual | preshared
    t: date | None = None  # date T of the dataset (None: today)
    target: TargetConfig | None = None  # None: the reference DVA of the built-in straat
    client: ClientConfig = field(default_factory=ClientConfig)
    tokens: Mapping[str, str] = field(default_factory=dict)  # patient id -> access token (way preshared)
    timeouts: Timeouts = field(default_factory=Timeouts)
    straat: StraatConfig = field(default_factory=StraatConfig)
    fhir: FhirConfig = field(default_factory=FhirConfig)

    @property
    def external(self) -> bool:
        return self.target is not None

    @property
    def scope(self) -> str:
        """What a run with this config can certify: the whole DVA, or only its FHIR side (preshared)."""
        return "fhir-only" if self.way == "preshared" else "full"

    def describe(self) -> dict[str, Any]:
        """What a report says about the run's setup (no secrets: no tokens, no keys)."""
        return {
            "role": self.role,
            "target": self.target.fhir_base if self.target else "reference",
            "provider": self.target.provider if self.target else DEFAULT_PROVIDER,
            "way": self.way,
            "scope": self.scope,
            "t": self.t.isoformat() if self.t else None,
        }


# ---------------------------------------------------------------------------------------------- converters
Convert = Callable[[Any, str], Any]


def _str(value: Any, where: str) -> str:
    if not isinstance(value, str) or not value.strip():
        raise ConfigError(f"{where}: expected a non-empty string, got {value!r}")
    return value.strip()


def _url(value: Any, where: str) -> str:
    text = _str(value, where)
    try:
        parts = urlsplit(text)
        _ = parts.port  # raises on a bad port
    except ValueError as exc:
        raise ConfigError(f"{where}: {text!r} is not a URL ({exc})") from exc
    if parts.scheme != "https":
        raise ConfigError(f"{where}: {text!r} must be an https:// URL (MedMij traffic is TLS only)")
    if not parts.hostname or not _HOSTNAME.fullmatch(parts.hostname.lower()):
        raise ConfigError(f"{where}: {text!r} has no valid host name")
    if parts.query or parts.fragment or parts.username or parts.password:
        raise ConfigError(f"{where}: {text!r} must not carry a query, fragment or user information")
    return text.rstrip("/") if parts.path not in ("", "/") else text


def _origin(value: Any, where: str) -> str:
    text = _url(value, where)
    parts = urlsplit(text)
    if parts.path not in ("", "/"):
        raise ConfigError(f"{where}: {text!r} must be an origin (scheme://host[:port]) without a path")
    return f"{parts.scheme}://{parts.netloc}"


def _hostname(value: Any, where: str) -> str:
    text = _str(value, where).lower()
    if not _HOSTNAME.fullmatch(text):
        raise ConfigError(f"{where}: {text!r} is not a host name")
    return text


def _address(value: Any, where: str) -> str:
    text = _str(value, where)
    if not re.fullmatch(r"[0-9a-fA-F.:]+", text):
        raise ConfigError(f"{where}: {text!r} is not an IP address")
    return text


def _float(value: Any, where: str) -> float:
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise ConfigError(f"{where}: expected a number of seconds, got {value!r}") from None
    if isinstance(value, bool) or not number > 0:
        raise ConfigError(f"{where}: expected a positive number of seconds, got {value!r}")
    return number


def _port(value: Any, where: str) -> int:
    try:
        number = int(value)
    except (TypeError, ValueError):
        raise ConfigError(f"{where}: expected a port number, got {value!r}") from None
    if isinstance(value, bool) or not 0 <= number <= 65535:
        raise ConfigError(f"{where}: {value!r} is not a port number (0-65535)")
    return number


def _date(value: Any, where: str) -> date:
    if isinstance(value, date):
        return value
    try:
        return date.fromisoformat(_str(value, where))
    except ValueError:
        raise ConfigError(f"{where}: expected a date YYYY-MM-DD, got {value!r}") from None


def _choice(options: tuple[str, ...]) -> Convert:
    def convert(value: Any, where: str) -> str:
        text = _str(value, where).lower()
        if text not in options:
            raise ConfigError(f"{where}: {text!r} is not one of {', '.join(options)}")
        return text

    return convert


def _provider(value: Any, where: str) -> str:
    text = _str(value, where).lower()
    bare = text.removesuffix(PROVIDER_SUFFIX)
    if not _PROVIDER.fullmatch(bare):
        raise ConfigError(f"{where}: {text!r} is not a Zorgaanbiedernaam (3-50 letters a-z, then @medmij)")
    return bare + PROVIDER_SUFFIX


def _service_id(value: Any, where: str) -> str:
    text = _str(str(value) if isinstance(value, int) and not isinstance(value, bool) else value, where)
    if not _SERVICE_ID.fullmatch(text):
        raise ConfigError(f"{where}: {text!r} is not a GegevensdienstId")
    return text


def _list(item: Convert) -> Convert:
    def convert(value: Any, where: str) -> tuple[Any, ...]:
        if isinstance(value, str):
            value = [v for v in (p.strip() for p in value.split(",")) if v]
        if not isinstance(value, list):
            raise ConfigError(f"{where}: expected a list, got {value!r}")
        return tuple(item(v, f"{where}[{i}]") for i, v in enumerate(value))

    return convert


def _table(key: Convert, item: Convert) -> Convert:
    def convert(value: Any, where: str) -> dict[str, Any]:
        if isinstance(value, str):
            value = _parse_pairs(value, where)
        if not isinstance(value, dict):
            raise ConfigError(f"{where}: expected a table, got {type(value).__name__}")
        return {key(k, f"{where} key {k!r}"): item(v, f"{where}.{k}") for k, v in value.items()}

    return convert


def _parse_pairs(text: str, where: str) -> dict[str, Any]:
    text = text.strip()
    if text.startswith("{"):
        try:
            value = json.loads(text)
        except json.JSONDecodeError as exc:
            raise ConfigError(f"{where}: not a JSON object ({exc.msg})") from None
        if not isinstance(value, dict):
            raise ConfigError(f"{where}: expected a JSON object")
        return value
    pairs: dict[str, Any] = {}
    for part in (p.strip() for p in text.split(",")):
        if not part:
            continue
        name, sep, value = part.partition("=")
        if not sep or not name.strip():
            raise ConfigError(f"{where}: expected key=value pairs separated by commas, got {part.split('=')[0]!r}…")
        pairs[name.strip()] = value.strip()
    return pairs


def _token(value: Any, where: str) -> str:
    """A bearer token (a leading ``Bearer `` is dropped); never echoed in an error."""
    text = value.strip() if isinstance(value, str) else ""
    if text[:7].lower() == "bearer ":
        text = text[7:].strip()
    if not text or any(c.isspace() for c in text):
        raise ConfigError(f"{where}: expected a bearer token without spaces")
    return text


def _path(value: Any, where: str) -> Path:
    return Path(_str(value, where)).expanduser()


def _port_name(value: Any, where: str) -> str:
    return _choice(PORT_NAMES)(value, where)


_TOP: dict[str, Convert] = {"role": _choice(ROLES), "way": _choice(WAYS), "t": _date}
_SECTIONS: dict[str, dict[str, Convert]] = {
    "target": {
        "fhir_base": _url,
        "authorize_url": _url,
        "token_url": _url,
        "provider": _provider,
        "service_id": _service_id,
        "hostnames": _list(_hostname),
        "digid_return_origins": _list(_origin),
        "resolve": _table(_hostname, _address),
    },
    "client": {"cert": _path, "key": _path, "ca": _path},
    "timeouts": {"request": _float, "manual": _float},
    "straat": {"bind": _address, "public_address": _address, "pki_dir": _path, "ports": _table(_port_name, _port)},
    "fhir": {"packages": _list(_path)},
}
#: sections that are one table of free keys (not fixed fields)
_FREE: dict[str, Convert] = {"tokens": _table(lambda k, w: _str(k, w), _token)}
_PATH_KEYS = {("client", "cert"), ("client", "key"), ("client", "ca"), ("straat", "pki_dir")}
_PATH_LIST_KEYS = {("fhir", "packages")}


# ---------------------------------------------------------------------------------------------- loading
def load_config(
    path: Path | None = None,
    env: Mapping[str, str] | None = None,
    overrides: Mapping[str, Any] | None = None,
    *,
    target: str | None = None,
    way: str | None = None,
    t: str | date | None = None,
    pki_dir: Path | str | None = None,
) -> RunConfig:
    """The run configuration from ``path`` (TOML; None: none), the environment (``os.environ`` unless
    ``env`` is given) and ``overrides`` (same shape as the TOML, typed or as strings). The keyword options are
    the CLI's flags: ``target`` is ``target.fhir_base`` (``--target``), ``way``, ``t`` and ``pki_dir``
    (``straat.pki_dir``); None leaves a value as it is."""
    raw: dict[str, Any] = {}
    if path is not None:
        _merge(raw, _read_toml(path), str(path), base=path.resolve().parent)
    _merge(raw, _from_env(os.environ if env is None else env), "", base=Path.cwd())
    flags: dict[str, Any] = {"way": way, "t": t, "target": {"fhir_base": target}, "straat": {"pki_dir": pki_dir}}
    for data in (dict(overrides or {}), flags):
        _merge(raw, data, "option", base=Path.cwd())
    return _build(raw)


def _read_toml(path: Path) -> dict[str, Any]:
    try:
        with open(path, "rb") as f:
            return tomllib.load(f)
    except FileNotFoundError:
        raise ConfigError(f"config file {path} does not exist") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: not valid TOML: {exc}") from None


def _from_env(env: Mapping[str, str]) -> dict[str, Any]:
    """The ``VALIDATIESTRAAT_*`` variables that are config keys, keyed like the TOML, each value tagged with
    its variable name (so an error names the variable)."""
    out: dict[str, Any] = {}
    for name, value in env.items():
        upper = name.upper()
        if not upper.startswith(ENV_PREFIX):
            continue
        rest = upper[len(ENV_PREFIX) :].lower()
        if rest in _TOP or rest in _FREE:
            out[rest] = _Env(value, name)
            continue
        section, _, key = rest.partition("_")
        if section in _SECTIONS and key:
            out.setdefault(section, {})[key] = _Env(value, name)
    return out


@dataclass(frozen=True)
class _Env:
    value: str
    name: str


def _merge(raw: dict[str, Any], data: Mapping[str, Any], origin: str, base: Path) -> None:
    """Fold ``data`` into ``raw`` as (value, where) pairs; unknown keys are errors."""

    def where(*keys: str) -> str:
        dotted = ".".join(keys)
        return f"{origin}: {dotted}" if origin else dotted

    def tagged(value: Any, keys: tuple[str, ...]) -> tuple[Any, str]:
        if isinstance(value, _Env):
            return value.value, f"environment variable {value.name}"
        if keys in _PATH_KEYS and isinstance(value, str | Path) and str(value):
            value = str(base / Path(value).expanduser())  # relative paths: to the file that names them
        if keys in _PATH_LIST_KEYS and isinstance(value, list):
            value = [str(base / Path(v).expanduser()) if isinstance(v, str | Path) else v for v in value]
        return value, where(*keys)

    for key, value in data.items():
        key = str(key)
        if value is None:  # an option not given
            continue
        if key in _TOP or key in _FREE:
            raw[key] = tagged(value, (key,))
        elif key in _SECTIONS:
            if not isinstance(value, dict):
                raise ConfigError(f"{where(key)}: expected a [{key}] table")
            section = raw.setdefault(key, {})
            for sub, subvalue in value.items():
                if subvalue is None:
                    continue
                if sub not in _SECTIONS[key]:
                    known = ", ".join(_SECTIONS[key])
                    label = f"environment variable {subvalue.name}" if isinstance(subvalue, _Env) else where(key, sub)
                    raise ConfigError(f"{label}: unknown key {sub!r} in [{key}] (known: {known})")
                section[sub] = tagged(subvalue, (key, sub))
        else:
            known = ", ".join([*_TOP, *_SECTIONS, *_FREE])
            raise ConfigError(f"{where(key)}: unknown key (known: {known})")


def _build(raw: dict[str, Any]) -> RunConfig:
    def convert(conv: Convert, pair: tuple[Any, str]) -> Any:
        return conv(*pair)

    top = {k: convert(_TOP[k], raw[k]) for k in _TOP if k in raw}
    sections = {
        name: {k: convert(fields[k], v) for k, v in raw.get(name, {}).items()} for name, fields in _SECTIONS.items()
    }
    tokens = convert(_FREE["tokens"], raw["tokens"]) if "tokens" in raw else {}
    way = top.get("way", "auto")

    target: TargetConfig | None = None
    t = sections["target"]
    if t:
        if "fhir_base" not in t:
            raise ConfigError("target.fhir_base is required when a [target] is configured (the DVA's FHIR base URL)")
        if way != "preshared":
            missing = [k for k in ("authorize_url", "token_url", "provider") if k not in t]
            if missing:
                raise ConfigError(
                    f"way {way!r} drives the OAuth flow and needs target.{', target.'.join(missing)} "
                    "(or use way = 'preshared' for a FHIR-only run with preshared tokens)"
                )
        else:
            # a preshared run never calls these; the ZAL still needs an entry, so point it at the FHIR host
            origin = "{0.scheme}://{0.netloc}".format(urlsplit(t["fhir_base"]))
            t.setdefault("authorize_url", f"{origin}/not-configured/authorize")
            t.setdefault("token_url", f"{origin}/not-configured/token")
        target = TargetConfig(**{k: (MappingProxyType(v) if isinstance(v, dict) else v) for k, v in t.items()})
    if way == "preshared" and target is not None and not tokens:
        raise ConfigError("way 'preshared' against a target needs [tokens]: patient id = access token")

    client = ClientConfig(**sections["client"])
    if (client.cert is None) != (client.key is None):
        raise ConfigError("client.cert and client.key go together: give both or neither")
    for label, p in (("client.cert", client.cert), ("client.key", client.key), ("client.ca", client.ca)):
        if p is not None and not p.is_file():
            raise ConfigError(f"{label}: {p} is not a file")

    return RunConfig(
        role=top.get("role", "dva"),
        way=way,
        t=top.get("t"),
        target=target,
        client=client,
        tokens=MappingProxyType(tokens),
        timeouts=Timeouts(**sections["timeouts"]),
        straat=StraatConfig(
            **{k: (MappingProxyType(v) if isinstance(v, dict) else v) for k, v in sections["straat"].items()}
        ),
        fhir=FhirConfig(**sections["fhir"]),
    )
