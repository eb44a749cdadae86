"""The straat's test PKI, shaped like PKIoverheid private G1.

Root ("Staat der Nederlanden Private Root CA - G1" in shape, clearly marked TEST) → intermediate ("Private
Services CA - G1") → one leaf per party hostname. Every leaf serves both as TLS server certificate and as
backchannel client certificate (MedMij nodes authenticate each other with the same PKIoverheid certificate).
For negative tests: a rogue root with its own leaf, an expired leaf and a leaf for a hostname nobody uses.

Everything is generated on first use into a cache directory and reused after; a leaf that is missing or no
longer valid is (re)made on demand. Writes are atomic and serialised by a lock file, so parallel test workers
can share one cache.
"""

from __future__ import annotations

import datetime as dt
import fcntl
import os
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

ORGANISATION = "Validatiestraat TEST"
ROOT_CN = "TEST Staat der Nederlanden Private Root CA - G1"
INTERMEDIATE_CN = "TEST Validatiestraat Private Services CA - G1"
ROGUE_CN = "Rogue Root CA (not PKIoverheid)"
LEAF_DAYS = 365
CA_DAYS = 3650
_KEY_BITS = 2048


def default_cache_dir() -> Path:
    """``$VALIDATIESTRAAT_PKI_DIR``, else ``~/.cache/validatiestraat/pki``."""
    env = os.environ.get("VALIDATIESTRAAT_PKI_DIR")
    if env:
        return Path(env)
    return Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "validatiestraat" / "pki"


@dataclass(frozen=True)
class CertFiles:
    """A leaf: its certificate chain (leaf + intermediate, PEM) and its private key (PEM)."""

    cert: Path
    key: Path


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def _name(cn: str, org: str = ORGANISATION) -> x509.Name:
    return x509.Name(
        [
            x509.NameAttribute(NameOID.COUNTRY_NAME, "NL"),
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, org),
            x509.NameAttribute(NameOID.COMMON_NAME, cn),
        ]
    )


def _new_key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=_KEY_BITS)


def _key_pem(key: rsa.RSAPrivateKey) -> bytes:
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )


def _cert_pem(cert: x509.Certificate) -> bytes:
    return cert.public_bytes(serialization.Encoding.PEM)


def _ca_cert(
    subject: x509.Name,
    key: rsa.RSAPrivateKey,
    issuer: x509.Name,
    issuer_key: rsa.RSAPrivateKey,
    path_length: int | None,
) -> x509.Certificate:
    now = _now()
    return (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(issuer)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(days=1))
        .not_valid_after(now + dt.timedelta(days=CA_DAYS))
        .add_extension(x509.BasicConstraints(ca=True, path_length=path_length), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=False,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=True,
                crl_sign=True,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .sign(issuer_key, hashes.SHA256())
    )


def _leaf_cert(
    hostname: str,
    key: rsa.RSAPrivateKey,
    issuer: x509.Certificate,
    issuer_key: rsa.RSAPrivateKey,
    not_before: dt.datetime,
    not_after: dt.datetime,
) -> x509.Certificate:
    return (
        x509.CertificateBuilder()
        .subject_name(_name(hostname))
        .issuer_name(issuer.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(not_before)
        .not_valid_after(not_after)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(x509.SubjectAlternativeName([x509.DNSName(hostname)]), critical=False)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                content_commitment=False,
                key_encipherment=True,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=False,
                crl_sign=False,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(
            x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH, ExtendedKeyUsageOID.CLIENT_AUTH]),
            critical=False,
        )
        .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(issuer_key.public_key()), critical=False)
        .sign(issuer_key, hashes.SHA256())
    )


def _write_atomic(path: Path, data: bytes) -> None:
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.write_bytes(data)
    os.replace(tmp, path)


def _still_valid(path: Path, margin: dt.timedelta = dt.timedelta(days=1)) -> bool:
    if not path.exists():
        return False
    cert = x509.load_pem_x509_certificates(path.read_bytes())[0]
    now = _now()
    return cert.not_valid_before_utc <= now and cert.not_valid_after_utc > now + margin


class TestPKI:
    """The straat's certificate authority, materialised in ``directory``."""

    __test__ = False  # not a pytest test class

    def __init__(self, directory: Path | None = None) -> None:
        self.directory = Path(directory) if directory else default_cache_dir()
        self.directory.mkdir(parents=True, exist_ok=True)
        with self._locked():
            self._ensure_cas()

    # -- public paths --------------------------------------------------------------------------------------
    @property
    def root_pem(self) -> Path:
        """The trust anchor every straat party accepts."""
        return self.directory / "root.pem"

    @property
    def rogue_root_pem(self) -> Path:
        return self.directory / "rogue-root.pem"

    def leaf(self, hostname: str) -> CertFiles:
        """A valid certificate for ``hostname`` under the straat's intermediate."""
        return self._leaf(hostname, "", self._intermediate, expired=False)

    def rogue_leaf(self, hostname: str) -> CertFiles:
        """A certificate for ``hostname`` from a CA outside the straat's trust chain."""
        return self._leaf(hostname, "rogue-", self._rogue, expired=False)

    def expired_leaf(self, hostname: str) -> CertFiles:
        """A certificate for ``hostname`` under the right chain, whose validity ended yesterday."""
        return self._leaf(hostname, "expired-", self._intermediate, expired=True)

    # -- internals -----------------------------------------------------------------------------------------
    @contextmanager
    def _locked(self) -> Iterator[None]:
        with open(self.directory / ".lock", "w") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(lock, fcntl.LOCK_UN)

    def _ensure_cas(self) -> None:
        d = self.directory
        if not all(
            _still_valid(d / f, dt.timedelta(days=LEAF_DAYS + 1))
            for f in ("root.pem", "intermediate.pem", "rogue-root.pem")
        ):
            root_key, inter_key, rogue_key = _new_key(), _new_key(), _new_key()
            root = _ca_cert(_name(ROOT_CN), root_key, _name(ROOT_CN), root_key, path_length=1)
            inter = _ca_cert(_name(INTERMEDIATE_CN), inter_key, root.subject, root_key, path_length=0)
            rogue_name = _name(ROGUE_CN, "Rogue TEST")
            rogue = _ca_cert(rogue_name, rogue_key, rogue_name, rogue_key, path_length=0)
            for stale in d.glob("*.crt"):  # leaves of an older CA generation
                stale.unlink()
            for name, key, cert in (
                ("root", root_key, root),
                ("intermediate", inter_key, inter),
                ("rogue-root", rogue_key, rogue),
            ):
                _write_atomic(d / f"{name}.key", _key_pem(key))
                _write_atomic(d / f"{name}.pem", _cert_pem(cert))
        self._intermediate = self._load_ca("intermediate")
        self._rogue = self._load_ca("rogue-root")

    def _load_ca(self, name: str) -> tuple[x509.Certificate, rsa.RSAPrivateKey]:
        cert = x509.load_pem_x509_certificate((self.directory / f"{name}.pem").read_bytes())
        key = serialization.load_pem_private_key((self.directory / f"{name}.key").read_bytes(), None)
        assert isinstance(key, rsa.RSAPrivateKey)
        return cert, key

    def _leaf(
        self,
        hostname: str,
        prefix: str,
        issuer: tuple[x509.Certificate, rsa.RSAPrivateKey],
        *,
        expired: bool,
    ) -> CertFiles:
        files = CertFiles(self.directory / f"{prefix}{hostname}.crt", self.directory / f"{prefix}{hostname}.key")
        if files.key.exists() and (files.cert.exists() and (expired or _still_valid(files.cert))):
            return files
        with self._locked():
            if files.key.exists() and files.cert.exists() and (expired or _still_valid(files.cert)):
                return files
            now = _now()
            if expired:
                not_before, not_after = now - dt.timedelta(days=400), now - dt.timedelta(days=1)
            else:
                not_before, not_after = now - dt.timedelta(hours=1), now + dt.timedelta(days=LEAF_DAYS)
            key = _new_key()
            issuer_cert, issuer_key = issuer
            cert = _leaf_cert(hostname, key, issuer_cert, issuer_key, not_before, not_after)
            chain = _cert_pem(cert)
            if issuer_cert.issuer != issuer_cert.subject:  # include the intermediate, not the root
                chain += _cert_pem(issuer_cert)
            _write_atomic(files.key, _key_pem(key))
            _write_atomic(files.cert, chain)
        return files
