"""Where a certification session comes from: the built-in straat around its own reference DVA, or the straat
around an external DVA (the vendor's system under test).

    with open_session(config, recorder=recorder) as session:      # config None: the reference DVA
        outcome = engine.run(session, scenarios)

For an external DVA the straat still plays every other party: its Stelselnode lists the external DVA on the
ZAL (instead of the reference DVA) and its hostnames on the Whitelist, its DigiD stub accepts that DVA, and
its PGO (``pgo.straat.test``) reaches the DVA with the configured client certificate and trust anchor. The
reference DVA's listeners stay up but unused. Every tap of the straat records into ``recorder``.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from dataclasses import replace
from datetime import date

import httpx
from cryptography import x509

from mock_providers.straat import PGO, DvaEndpoints, Straat
from validatiestraat.config import ClientConfig, ConfigError, RunConfig
from validatiestraat.evidence.recorder import Recorder
from validatiestraat.fhir.store import Store
from validatiestraat.medmij.lists import SPECS
from validatiestraat.pki import CertFiles, TestPKI
from validatiestraat.session import DvaSession, ManualPrompt, print_manual_login

LIST_FILES = tuple(SPECS[kind].file_name for kind in ("zal", "ocl", "gnl", "whitelist"))


def external_endpoints(config: RunConfig) -> DvaEndpoints | None:
    """The external DVA as the straat must list and reach it, or None for the reference DVA."""
    target = config.target
    if target is None:
        return None
    assert target.authorize_url and target.token_url  # load_config fills these in for every way
    origins = target.digid_return_origins or (_origin(target.authorize_url),)
    return DvaEndpoints(
        provider=target.provider,
        service_id=target.service_id,
        authorize_url=target.authorize_url,
        token_url=target.token_url,
        fhir_base=target.fhir_base,
        hostnames=target.hostnames,
        digid_return_origins=origins,
        resolve=dict(target.resolve),
        client_cert=_client_cert(config.client),
        trust=config.client.ca,
    )


def _origin(url: str) -> str:
    u = httpx.URL(url)
    return f"{u.scheme}://{u.netloc.decode('ascii')}"


def _client_cert(client: ClientConfig) -> CertFiles | None:
    """The configured client certificate, checked to name the harness PGO (its OCL hostname and client_id)."""
    if client.cert is None or client.key is None:
        return None
    try:
        leaf = x509.load_pem_x509_certificates(client.cert.read_bytes())[0]
    except (ValueError, IndexError) as exc:
        raise ConfigError(f"client.cert: {client.cert} is not a PEM certificate chain ({exc})") from None
    try:
        names = leaf.extensions.get_extension_for_class(x509.SubjectAlternativeName).value.get_values_for_type(
            x509.DNSName
        )
    except x509.ExtensionNotFound:
        names = []
    if PGO not in [n.lower() for n in names]:
        raise ConfigError(
            f"client.cert: {client.cert} does not carry the DNS name {PGO}: the harness PGO is {PGO} on the OCL "
            "(its client_id and redirect_uri host), so its backchannel certificate must name it"
        )
    return CertFiles(client.cert, client.key)


def check_config(config: RunConfig | None, faults: frozenset[str] = frozenset(), store: Store | None = None) -> None:
    """Everything :func:`open_session` would refuse, found before anything starts (the CLI: a usage error,
    exit 2): the role, faults with an external target, a client certificate that does not name the harness PGO,
    preshared tokens for patients the dataset does not have. Raises :class:`ConfigError`."""
    config = config or RunConfig()
    if config.role != "dva":
        raise ConfigError(f"role {config.role!r} is not supported yet; only 'dva'")
    if config.external and faults:
        raise ConfigError("faults switch parties of the built-in straat's reference DVA; not with an external target")
    external_endpoints(config)  # checks the client certificate
    if config.tokens:
        if store is None:
            from mock_providers.his.dataset import load_builtin

            store = load_builtin(config.t or date.today())
        ids = [p.id for p in store.patients]
        unknown = sorted(set(config.tokens) - set(ids))
        if unknown:
            raise ConfigError(
                f"[tokens]: unknown patient id(s) {', '.join(unknown)} (the dataset has: {', '.join(ids)})"
            )


def _apply_tokens(session: DvaSession, config: RunConfig, external: bool) -> None:
    """Preshared tokens: the configured ones (external DVA: required), or fresh ones the reference DVA honours."""
    if not external and not config.tokens:
        session.preshare_tokens()
        return
    for patient_id, token in config.tokens.items():
        if not external:  # the reference DVA accepts a token that the dataset pre-shares for the patient
            patient = session.dataset.patient(patient_id)
            assert patient is not None
            session.dataset.add_patient(replace(patient, token=token))
        session.tokens[patient_id] = token
        session.secrets.add(token)


@contextlib.contextmanager
def open_session(
    config: RunConfig | None,
    *,
    faults: frozenset[str] = frozenset(),
    recorder: Recorder,
    store: Store | None = None,
    prompt: ManualPrompt | None = None,
    list_max_age: float = 60.0,
) -> Iterator[DvaSession]:
    """A running straat and a session on it; the straat stops when the block ends.

    ``store`` is the dataset the DVA is expected to serve (default: the project's own, expanded at the
    config's date T). ``prompt`` shows a manual login to the person at the keyboard (default: stderr).
    Raises :class:`ConfigError` for a configuration that cannot be run."""
    config = config or RunConfig()
    t = config.t or date.today()
    if store is None:
        from mock_providers.his.dataset import load_builtin

        store = load_builtin(t)
    check_config(config, faults, store)
    external = external_endpoints(config)
    options: dict = {"faults": frozenset(faults)} if faults else {}
    if external is not None:
        options["external_dva"] = external
    if config.straat.ports:
        options["ports"] = dict(config.straat.ports)
    straat = Straat(
        store,
        pki=TestPKI(config.straat.pki_dir),
        address=config.straat.bind,
        list_max_age=list_max_age,
        recorder=recorder,
        **options,
    )
    request_timeout = httpx.Timeout(config.timeouts.request, connect=min(config.timeouts.request, 10.0))
    for client in (straat.pgo.http, straat.browser_http):  # the harness side: what talks to the DVA
        client.timeout = request_timeout
    with straat:
        session = DvaSession(
            straat,
            recorder,
            store,
            way=config.way,
            t=t.isoformat(),
            provider=external.provider if external else DvaSession.provider,
            service_id=external.service_id if external else DvaSession.service_id,
            manual_timeout=config.timeouts.manual,
            prompt=prompt or print_manual_login,
            target=external.fhir_base if external else "reference",
        )
        if config.way == "preshared":
            _apply_tokens(session, config, external is not None)
        yield session


def start(
    config: RunConfig | None,
    *,
    faults: frozenset[str] = frozenset(),
    recorder: Recorder,
    **kwargs: object,
) -> tuple[DvaSession, contextlib.ExitStack]:
    """:func:`open_session` for callers that cannot use a ``with`` block (pytest and behave fixtures): the
    session and the stack whose ``close()`` stops the straat."""
    stack = contextlib.ExitStack()
    session = stack.enter_context(open_session(config, faults=faults, recorder=recorder, **kwargs))  # type: ignore[arg-type]
    return session, stack


def straat_instructions(session: DvaSession, config: RunConfig | None = None) -> list[tuple[str, str]]:
    """What the operator of an external DVA must configure for this run, as (what, value) rows: the lists to
    read, the DigiD stub, the harness PGO's identity, the trust anchor. Nothing secret."""
    straat = session.straat
    o = straat.origins
    external = straat.external_dva
    pgo_cert = (external.client_cert if external else None) or straat.pki.leaf(PGO)
    rows = [(f"list {name}", f"{o['stelselnode']}/{name}") for name in LIST_FILES]
    rows += [
        ("DigiD stub login (if the DVA uses the straat's DigiD stub)", f"{o['digid']}/login"),
        ("DigiD stub artifact resolution (mutual TLS)", f"{o['digid']}/resolve"),
        ("harness PGO client_id (OCL hostname)", PGO),
        ("harness PGO redirect_uri", straat.pgo.redirect_uri),
        ("trust anchor of the straat (root CA)", str(straat.pki.root_pem)),
        ("harness PGO backchannel certificate", str(pgo_cert.cert)),
    ]
    public = config.straat.public_address if config else None
    names = ", ".join(sorted({h for h in straat.hosts if h.endswith(".straat.test")}))
    rows.append(
        (
            "resolve these names to the harness machine",
            f"{names} -> {public or straat.listeners['stelselnode'].address}",
        )
    )
    return rows
