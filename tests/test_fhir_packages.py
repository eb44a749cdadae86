"""FHIR package caches: finding packages, resolving dependency versions, canonical URLs, installing."""

from __future__ import annotations

import json
import tarfile
from pathlib import Path

import pytest

from validatiestraat.fhir.packages import ENV, PackageError, PackageSet, available, install, pick, search_dirs

SHARED = Path(__file__).resolve().parents[1].parent / "shared"


def make_package(cache: Path, name: str, version: str, deps: dict[str, str], resources: list[dict], index: bool = True):
    folder = cache / f"{name}#{version}" / "package"
    folder.mkdir(parents=True)
    (folder / "package.json").write_text(json.dumps({"name": name, "version": version, "dependencies": deps}))
    rows = []
    for r in resources:
        filename = f"{r['resourceType']}-{r['id']}.json"
        (folder / filename).write_text(json.dumps(r), encoding="utf-8")
        rows.append({"filename": filename, "resourceType": r["resourceType"], "id": r["id"], "url": r.get("url")})
    if index:  # with a byte-order mark, as some published packages have
        (folder / ".index.json").write_text("\ufeff" + json.dumps({"index-version": 1, "files": rows}), "utf-8")
    return folder


def sd(id_: str, url: str, title: str = "") -> dict:
    return {"resourceType": "StructureDefinition", "id": id_, "url": url, "title": title or id_}


@pytest.fixture
def cache(tmp_path: Path) -> Path:
    c = tmp_path / "cache"
    make_package(c, "base.core", "4.0.1", {}, [sd("a", "http://x/a", "core a"), sd("b", "http://x/b")])
    make_package(c, "base.core", "4.0.0", {}, [sd("a", "http://x/a", "old a")])
    make_package(c, "mid", "1.0.0", {"base.core": "4.0.x"}, [sd("a", "http://x/a", "mid a"), sd("m", "http://x/m")])
    make_package(c, "top", "2.0.0-rc.1", {"mid": "1.0.0", "gone": "9.9.9"}, [sd("t", "http://x/t")], index=False)
    return c


def test_dependencies_resolve_and_the_nearest_package_wins(cache: Path) -> None:
    ps = PackageSet.load(["top#2.0.0-rc.1"], [cache])
    assert [p.key for p in ps.packages] == ["top#2.0.0-rc.1", "mid#1.0.0", "base.core#4.0.1"]  # 4.0.x -> highest
    assert ps.missing == ["gone#9.9.9 (needed by top#2.0.0-rc.1)"]
    assert ps.get("http://x/a")["title"] == "mid a"  # defined in mid and core: mid is nearer the root
    assert ps.get("http://x/b")["title"] == "b"
    assert ps.get("http://x/t")["id"] == "t"  # a package without .index.json is scanned
    assert ps.get("http://x/nothing") is None
    assert ps.source("http://x/m").key == "mid#1.0.0"
    assert ps.urls("StructureDefinition") == ["http://x/a", "http://x/b", "http://x/m", "http://x/t"]


def test_a_missing_root_is_an_error_naming_what_is_there(cache: Path) -> None:
    with pytest.raises(PackageError, match=r"base.core#5.0.0 not found \(versions available: 4.0.0, 4.0.1\)"):
        PackageSet.load(["base.core#5.0.0"], [cache])


def test_version_specs(cache: Path) -> None:
    pool = available([cache])
    assert pick("base.core", "4.0.x", pool).version == "4.0.1"
    assert pick("base.core", "latest", pool).version == "4.0.1"
    assert pick("base.core", "4.0.0", pool).version == "4.0.0"
    assert pick("base.core", "3.x", pool) is None


def test_search_order_env_then_configured_then_user(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    first, second, home = tmp_path / "first", tmp_path / "second", tmp_path / "home"
    for d in (first, second, home / ".fhir" / "packages"):
        d.mkdir(parents=True)
    monkeypatch.setenv(ENV, str(first))
    monkeypatch.setenv("HOME", str(home))
    assert search_dirs([second, tmp_path / "absent"]) == [first, second, home / ".fhir" / "packages"]


def test_install_a_tarball_and_a_folder(tmp_path: Path, cache: Path) -> None:
    tgz = tmp_path / "mid.tgz"
    with tarfile.open(tgz, "w:gz") as tar:
        tar.add(cache / "mid#1.0.0" / "package", arcname="package")
    target = tmp_path / "target"
    assert install(tgz, target).key == "mid#1.0.0"
    assert install(cache / "top#2.0.0-rc.1", target).key == "top#2.0.0-rc.1"
    assert sorted(p.name for p in target.iterdir()) == ["mid#1.0.0", "top#2.0.0-rc.1"]
    assert PackageSet.load(["mid#1.0.0"], [target]).get("http://x/m")["id"] == "m"
    (tmp_path / "junk.tgz").write_bytes(b"not a tarball")
    with pytest.raises(PackageError, match="not a package tarball"):
        install(tmp_path / "junk.tgz", target)


@pytest.mark.skipif(not SHARED.is_dir(), reason="../shared (the FHIR package caches) is not beside the repo")
def test_the_mp9_chain_from_the_shared_caches() -> None:
    ps = PackageSet.load(
        ["nictiz.fhir.nl.r4.medicationprocess9#2.0.0-rc.7"],
        [SHARED / "fhir-packages-snapshots", SHARED / "fhir-packages"],
    )
    assert [p.key for p in ps.packages] == [
        "nictiz.fhir.nl.r4.medicationprocess9#2.0.0-rc.7",
        "hl7.fhir.r4.core#4.0.1",
        "nictiz.fhir.nl.r4.nl-core#0.11.0-beta.1",
        "nictiz.fhir.nl.r4.zib2020#0.11.0-beta.1",
    ]
    ma = ps.get("http://nictiz.nl/fhir/StructureDefinition/mp-MedicationAgreement")
    assert ma["type"] == "MedicationRequest" and ma["snapshot"]["element"]  # the snapshot cache came first
    assert ps.get("http://hl7.org/fhir/StructureDefinition/Patient")["kind"] == "resource"


def test_the_bundled_packages_carry_the_mp9_chain_and_validate_the_projects_dataset() -> None:
    from datetime import date

    from validatiestraat.fhir.packages import BundledPackages
    from validatiestraat.fhir.tdates import expand
    from validatiestraat.fhir.validator import Validator, counts

    bundled = BundledPackages()
    assert {p.name for p in bundled.packages} >= {"nictiz.fhir.nl.r4.medicationprocess9", "hl7.fhir.r4.core"}
    assert all(len(p.manifest["sha256"]) == 64 for p in bundled.packages)
    ma = bundled.get("http://nictiz.nl/fhir/StructureDefinition/mp-MedicationAgreement")
    assert ma is not None and ma["snapshot"]["element"][0]["path"] == "MedicationRequest"
    validator = Validator(bundled)
    resources = sorted((Path(__file__).parents[1] / "fixtures" / "mp9" / "resources").glob("*.json"))
    assert len(resources) > 100
    for path in resources:
        resource = json.loads(expand(path.read_text(encoding="utf-8"), date(2025, 1, 1)))
        issues = validator.validate(resource)
        assert counts(issues) == (0, 0), (path.name, issues[:3])
        assert {i.rule for i in issues} == {"validator.not-checked"}  # no plug-ins here, and it says so
        assert resource["meta"]["profile"]  # each was judged against its Nictiz profile too


def test_the_bundle_carries_its_constraints_parsed_as_a_fresh_parse_would(monkeypatch: pytest.MonkeyPatch) -> None:
    from importlib.metadata import version

    from validatiestraat.fhir import fhirpath
    from validatiestraat.fhir.packages import BundledPackages

    bundled = BundledPackages()
    assert bundled.fhirpathpy == version("fhirpathpy")
    expressions = sorted(bundled._asts)
    assert len(expressions) > 200
    monkeypatch.setattr(fhirpath, "_PARSED", [])  # parse for real, past the remembered ones and the lru cache
    for expression in expressions[::10]:
        assert fhirpath.parse.__wrapped__(expression) == bundled.parsed_constraint(expression), expression
    assert bundled.parsed_constraint("name.exists() and 1 = 1") is None
    assert not fhirpath.remember_parsed("0.0.0", bundled.parsed_constraint)  # parsed by another fhirpathpy
    assert fhirpath._PARSED == []
