"""FHIR NPM packages in the package-cache layout: find them, resolve their dependencies, index their resources.

    packages = PackageSet.load(["nictiz.fhir.nl.r4.medicationprocess9#2.0.0-rc.7"])
    sd = packages.get("http://nictiz.nl/fhir/StructureDefinition/mp-MedicationAgreement")

A package cache is a folder of ``<id>#<version>/package/`` folders, each with a ``package.json`` (name, version,
dependencies) and, usually, a ``.index.json`` (each file's resourceType, id, url, version). Caches are searched in
order (:func:`search_dirs`): the folders named in ``VALIDATIESTRAAT_FHIR_PACKAGES`` (``os.pathsep``-separated),
the folders a caller passes (the config file's), the user's ``~/.fhir/packages``. The first cache that holds an
``id#version`` provides it. A dependency version may be exact, a ``x`` wildcard (``4.0.x``) or ``latest``/``current``:
the highest version available that matches.

A resource defined by more than one loaded package is taken from the package nearest the roots (the roots
themselves first, then their dependencies breadth-first), as a validator loading an IG would.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import re
import shutil
import tarfile
import tempfile
import zlib
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ENV = "VALIDATIESTRAAT_FHIR_PACKAGES"


class PackageError(Exception):
    """A package cannot be found, read or installed (the message says which and why)."""


def user_cache() -> Path:
    return Path.home() / ".fhir" / "packages"


def search_dirs(configured: Sequence[str | Path] = ()) -> list[Path]:
    """The package caches to search, in order: the environment variable's, the configured ones, ``~/.fhir``."""
    # the environment variable is also the run config's fhir.packages: a list, comma-separated there
    dirs = [Path(p.strip()) for p in re.split(f"[,{re.escape(os.pathsep)}]", os.environ.get(ENV, "")) if p.strip()]
    dirs += [Path(p) for p in configured]
    dirs.append(user_cache())
    seen: list[Path] = []
    for d in dirs:
        d = d.expanduser()
        if d not in seen and d.is_dir():
            seen.append(d)
    return seen


@dataclass(frozen=True)
class Package:
    """One package folder (``.../<id>#<version>/package``) and its manifest."""

    name: str
    version: str
    folder: Path
    manifest: dict[str, Any] = field(repr=False, compare=False)

    @property
    def key(self) -> str:
        return f"{self.name}#{self.version}"

    @property
    def dependencies(self) -> dict[str, str]:
        deps = self.manifest.get("dependencies") or {}
        return {str(k): str(v) for k, v in deps.items()} if isinstance(deps, dict) else {}

    @property
    def fhir_versions(self) -> list[str]:
        versions = self.manifest.get("fhirVersions") or self.manifest.get("fhir-version-list") or []
        return [str(v) for v in versions] if isinstance(versions, list) else []

    def index(self) -> list[dict[str, Any]]:
        """One row per resource file: ``filename``, ``resourceType``, ``id``, ``url``, ``version`` (from
        ``.index.json``; built by reading the files when the package has none)."""
        path = self.folder / ".index.json"
        if path.is_file():
            try:
                rows = json.loads(path.read_text(encoding="utf-8-sig")).get("files", [])
                return [r for r in rows if isinstance(r, dict) and isinstance(r.get("filename"), str)]
            except (OSError, ValueError, AttributeError) as exc:
                raise PackageError(f"{self.key}: unreadable .index.json: {exc}") from exc
        return list(_scan(self.folder))

    def read(self, filename: str) -> dict[str, Any]:
        try:
            value = json.loads((self.folder / filename).read_text(encoding="utf-8-sig"))
        except (OSError, ValueError) as exc:
            raise PackageError(f"{self.key}: cannot read {filename}: {exc}") from exc
        if not isinstance(value, dict):
            raise PackageError(f"{self.key}: {filename} is not a JSON object")
        return value


def _scan(folder: Path) -> Iterator[dict[str, Any]]:
    for path in sorted(folder.glob("*.json")):
        if path.name in ("package.json", ".index.json"):
            continue
        try:
            value = json.loads(path.read_text(encoding="utf-8-sig"))
        except (OSError, ValueError):
            continue
        if isinstance(value, dict) and isinstance(value.get("resourceType"), str):
            yield {
                "filename": path.name,
                "resourceType": value["resourceType"],
                "id": value.get("id"),
                "url": value.get("url"),
                "version": value.get("version"),
                "type": value.get("type"),
                "kind": value.get("kind"),
            }


def open_package(folder: Path) -> Package:
    """The package in ``folder`` (the ``package`` folder itself, or the ``<id>#<version>`` folder above it)."""
    if (folder / "package" / "package.json").is_file():
        folder = folder / "package"
    manifest_path = folder / "package.json"
    try:
        manifest = json.loads(manifest_path.read_text(encoding="utf-8-sig"))
    except (OSError, ValueError) as exc:
        raise PackageError(f"{folder}: no readable package.json ({exc})") from exc
    if not isinstance(manifest, dict) or not manifest.get("name") or not manifest.get("version"):
        raise PackageError(f"{manifest_path}: package.json has no name and version")
    return Package(str(manifest["name"]), str(manifest["version"]), folder, manifest)


def available(dirs: Iterable[Path]) -> dict[str, list[Package]]:
    """Every package in the caches ``dirs``, by name (the first cache holding an ``id#version`` provides it)."""
    found: dict[str, dict[str, Package]] = {}
    for cache in dirs:
        for entry in sorted(cache.iterdir()) if cache.is_dir() else ():
            if "#" not in entry.name or not (entry / "package" / "package.json").is_file():
                continue
            try:
                package = open_package(entry)
            except PackageError:
                continue
            found.setdefault(package.name, {}).setdefault(package.version, package)
    return {name: list(versions.values()) for name, versions in found.items()}


def _version_key(version: str) -> tuple[Any, ...]:
    """Semver order: numbers numerically, a pre-release (``-ballot``, ``-rc.7``) before its release."""
    core, _, pre = version.partition("-")
    nums = tuple(int(p) if p.isdigit() else -1 for p in core.split("."))
    pre_key: tuple[Any, ...] = (
        (1,) if not pre else (0, *((0, int(p)) if p.isdigit() else (1, p) for p in pre.split(".")))
    )
    return (nums, pre_key)


def pick(name: str, spec: str, packages: dict[str, list[Package]]) -> Package | None:
    """The package ``name`` that satisfies version ``spec`` (exact, ``x`` wildcard, ``latest``/``current``/``*``)."""
    candidates = packages.get(name, [])
    if spec in ("latest", "current", "dev", "*", ""):
        matching = candidates
    elif "x" in spec.split("."):
        pattern = re.compile("^" + r"\.".join(r"[^.]+" if p == "x" else re.escape(p) for p in spec.split(".")) + "$")
        matching = [p for p in candidates if pattern.match(p.version)]
    else:
        matching = [p for p in candidates if p.version == spec]
    return max(matching, key=lambda p: _version_key(p.version), default=None)


def parse_ref(ref: str) -> tuple[str, str]:
    """``id#version`` (or ``id@version``, or ``id`` for the latest) as (id, version spec)."""
    for sep in ("#", "@"):
        if sep in ref:
            name, _, version = ref.partition(sep)
            return name, version
    return ref, "latest"


class PackageSet:
    """The packages a validation loads (roots and their dependencies), with their resources by canonical URL."""

    def __init__(self, packages: list[Package], missing: list[str] | None = None) -> None:
        self.packages = packages
        self.missing = missing or []  # dependencies that no cache provides, as "id#spec (needed by id#version)"
        self._by_url: dict[str, tuple[Package, dict[str, Any]]] = {}
        self._loaded: dict[tuple[str, str], dict[str, Any]] = {}
        for package in reversed(packages):  # nearest the roots last: it wins
            for row in package.index():
                url = row.get("url")
                if isinstance(url, str) and url:
                    self._by_url[url] = (package, row)
                    version = row.get("version")
                    if isinstance(version, str) and version:
                        self._by_url[f"{url}|{version}"] = (package, row)

    @classmethod
    def load(cls, roots: Sequence[str], dirs: Sequence[Path] | None = None) -> PackageSet:
        """The packages ``roots`` (``id#version``) and everything they depend on, from the caches ``dirs``
        (default: :func:`search_dirs`). Raises :class:`PackageError` when a root is not there."""
        pool = available(search_dirs() if dirs is None else dirs)
        chosen: list[Package] = []
        missing: list[str] = []
        queue: list[tuple[str, str, str]] = [(*parse_ref(r), "the command line") for r in roots]
        while queue:
            name, spec, needed_by = queue.pop(0)
            if any(p.name == name for p in chosen):
                continue  # the first version asked for (nearest the roots) is the one loaded
            package = pick(name, spec, pool)
            if package is None:
                if needed_by == "the command line":
                    known = ", ".join(p.version for p in pool.get(name, [])) or "none"
                    raise PackageError(f"package {name}#{spec} not found (versions available: {known})")
                missing.append(f"{name}#{spec} (needed by {needed_by})")
                continue
            chosen.append(package)
            queue += [(n, v, package.key) for n, v in package.dependencies.items()]
        return cls(chosen, missing)

    def get(self, url: str) -> dict[str, Any] | None:
        """The resource with canonical ``url`` (``url|version`` asks for one version), or None."""
        found = self._by_url.get(url)
        if found is None and "|" in url:
            found = self._by_url.get(url.split("|", 1)[0])
        if found is None:
            return None
        package, row = found
        key = (package.key, row["filename"])
        if key not in self._loaded:
            self._loaded[key] = package.read(row["filename"])
        return self._loaded[key]

    def source(self, url: str) -> Package | None:
        found = self._by_url.get(url)
        return found[0] if found else None

    def urls(self, resource_type: str | None = None) -> list[str]:
        """The canonical URLs (without version) of the resources, of one type if given."""
        return sorted(
            {
                url
                for url, (_, row) in self._by_url.items()
                if "|" not in url and (resource_type is None or row.get("resourceType") == resource_type)
            }
        )


# --------------------------------------------------------------------------- install


def install(source: Path, into: Path | None = None) -> Package:
    """Put a package (a ``.tgz`` as the registry serves it, or a folder holding ``package/package.json``) into the
    cache ``into`` (default ``~/.fhir/packages``) as ``<id>#<version>``; returns the installed package."""
    into = into or user_cache()
    into.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        staged = Path(tmp)
        if source.is_file():
            try:
                with tarfile.open(source, "r:*") as tar:
                    tar.extractall(staged, filter="data")
            except (OSError, tarfile.TarError) as exc:
                raise PackageError(f"{source}: not a package tarball: {exc}") from exc
            if not (staged / "package" / "package.json").is_file():
                raise PackageError(f"{source}: the tarball has no package/package.json")
            package = open_package(staged)
        elif source.is_dir():
            package = open_package(source)
            shutil.copytree(package.folder, staged / "package")
            package = open_package(staged)
        else:
            raise PackageError(f"{source}: no such file or folder")
        target = into / package.key
        if target.exists():
            shutil.rmtree(target)
        shutil.copytree(staged, target)
    return open_package(target)


def sha256_of(folder: Path) -> str:
    """A hash over a package folder's files (names and bytes, in name order): what a compiled form records."""
    digest = hashlib.sha256()
    for path in sorted(p for p in folder.rglob("*") if p.is_file()):
        digest.update(str(path.relative_to(folder)).encode() + b"\0")
        with path.open("rb") as f:
            for chunk in iter(lambda: f.read(1 << 16), b""):
                digest.update(chunk)
    return digest.hexdigest()


def tarball_of(package: Package) -> bytes:
    """The package as a ``.tgz`` (``package/...``), e.g. to install it elsewhere."""
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as tar:
        tar.add(package.folder, arcname="package")
    return buffer.getvalue()


# --------------------------------------------------------------------------- what the wheel carries

BUNDLE = Path(__file__).with_name("bundled") / "packages.bin"
#: the first bytes of a bundle; then the length of its compressed index (8 bytes, big-endian), the index, the data
MAGIC = b"VSFHIRB1"


def write_bundle(path: Path, manifest: list[dict[str, Any]], resources: dict[str, Any], asts: dict[str, Any]) -> int:
    """Write the compact form (see :class:`BundledPackages`); returns the bytes of JSON it holds."""
    data = bytearray()
    raw_size = 0

    def put(obj: Any) -> list[int]:
        nonlocal raw_size
        raw = json.dumps(obj, ensure_ascii=False, separators=(",", ":"), sort_keys=True).encode("utf-8")
        raw_size += len(raw)
        packed = zlib.compress(raw, 9)
        data.extend(packed)
        return [len(data) - len(packed), len(packed)]

    index = {url: [*put(r), r["resourceType"], r.get("version")] for url, r in sorted(resources.items())}
    parsed = {expression: put(ast) for expression, ast in sorted(asts.get("asts", {}).items())}
    head = {"packages": manifest, "index": index, "fhirpathpy": asts.get("fhirpathpy"), "asts": parsed}
    packed_head = zlib.compress(json.dumps(head, sort_keys=True, separators=(",", ":")).encode("utf-8"), 9)
    path.write_bytes(MAGIC + len(packed_head).to_bytes(8, "big") + packed_head + bytes(data))
    return raw_size


class BundledPackages(PackageSet):
    """The compact form of the default packages that the wheel carries (``scripts/build_fhir_bundle.py``): the
    StructureDefinitions (snapshots cut to what validation reads), the terminology, and the parsed FHIRPath of the
    constraints. One file: a compressed index of canonical URLs, then each resource compressed on its own, read
    (and cached) when first asked for, so a cold start reads only the index and what it validates."""

    def __init__(self, path: Path = BUNDLE) -> None:
        try:
            with open(path, "rb") as f:
                if f.read(len(MAGIC)) != MAGIC:
                    raise ValueError("not a validatiestraat package bundle")
                size = int.from_bytes(f.read(8), "big")
                head = json.loads(zlib.decompress(f.read(size)))
        except (OSError, ValueError, zlib.error) as exc:
            raise PackageError(f"the bundled packages ({path}) cannot be read: {exc}") from exc
        self.packages = [Package(p["id"], p["version"], path, p) for p in head["packages"]]
        self.missing = []
        self._path = path
        self._start = len(MAGIC) + 8 + size
        self._file: Any = None
        self._index: dict[str, list[Any]] = head["index"]  # url -> [offset, length, resourceType, version]
        self._asts: dict[str, list[int]] = head.get("asts") or {}
        self.fhirpathpy: str | None = head.get("fhirpathpy")
        self._versions = {f"{u}|{r[3]}": u for u, r in self._index.items() if r[3]}
        self._cache: dict[str, dict[str, Any]] = {}

    def _read(self, offset: int, length: int) -> Any:
        if self._file is None:
            self._file = open(self._path, "rb")  # noqa: SIM115 -- kept open for the life of the package set
        self._file.seek(self._start + offset)
        return json.loads(zlib.decompress(self._file.read(length)))

    def get(self, url: str) -> dict[str, Any] | None:
        url = self._versions.get(url, url.split("|", 1)[0])
        if url not in self._cache:
            row = self._index.get(url)
            if row is None:
                return None
            self._cache[url] = self._read(row[0], row[1])
        return self._cache[url]

    def source(self, url: str) -> Package | None:
        return self.packages[0] if url.split("|", 1)[0] in self._index and self.packages else None

    def parsed_constraint(self, expression: str) -> dict[str, Any] | None:
        """The AST the build script parsed for this (fixed) constraint expression, with fhirpathpy
        :attr:`fhirpathpy`; None when the bundle has none."""
        row = self._asts.get(expression)
        return self._read(row[0], row[1]) if row is not None else None

    def urls(self, resource_type: str | None = None) -> list[str]:
        return sorted(u for u, r in self._index.items() if resource_type is None or r[2] == resource_type)
