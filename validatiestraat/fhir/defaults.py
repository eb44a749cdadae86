"""The validator a command gets by default: the MP9 3.0 chain and what the HL7 validator always loads beside it.

    validator = load_validator()                 # packages from the usual caches (see packages.search_dirs)
    validator = load_validator(dirs=[Path(...)])

The validator judges bindings with :class:`~bindings.TerminologyBindings` (value sets from the packages, offline) and
invariants with :class:`~fhirpath.Invariants` (``memberOf()`` answered by the same terminology).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from validatiestraat.fhir.bindings import TerminologyBindings
from validatiestraat.fhir.fhirpath import Invariants, remember_parsed
from validatiestraat.fhir.packages import BUNDLE, BundledPackages, PackageError, PackageSet, search_dirs
from validatiestraat.fhir.profiles import Profiles
from validatiestraat.fhir.snapshot import with_snapshot
from validatiestraat.fhir.terminology import Terminology
from validatiestraat.fhir.validator import Validator

#: MP9 3.0 (2.0.0-rc.7, as the Nictiz qualification pins it; it brings nl-core, zib2020 and R4 core), and the two
#: packages HL7 validator 6.0.21 loads for every R4 validation (terminology, extensions)
DEFAULT_ROOTS = (
    "nictiz.fhir.nl.r4.medicationprocess9#2.0.0-rc.7",
    "hl7.terminology#7.0.1",
    "hl7.fhir.uv.extensions#5.3.0-ballot-tc1",
)


def load_packages(dirs: Sequence[Path] | None = None, roots: Sequence[str] = DEFAULT_ROOTS) -> PackageSet:
    """The packages ``roots`` from the caches (``dirs`` first, see :func:`search_dirs`); when a cache lacks one of
    the default roots, the compact form the wheel carries."""
    try:
        return PackageSet.load(list(roots), search_dirs(dirs or ()))
    except PackageError:
        if tuple(roots) != DEFAULT_ROOTS or not BUNDLE.is_file():
            raise
        return BundledPackages()


def plugins(packages: PackageSet, *, hl7_offline: bool = False) -> tuple[TerminologyBindings, Invariants]:
    """The binding and invariant plug-ins over ``packages``, sharing one terminology (``hl7_offline``: judge codes
    that cannot be checked as HL7 6.0.21 does with ``-tx n/a``, see :mod:`~validatiestraat.fhir.bindings`)."""
    terminology = Terminology(packages.get)
    if isinstance(packages, BundledPackages) or BUNDLE.is_file():  # the default constraints, parsed at build time
        bundled = packages if isinstance(packages, BundledPackages) else BundledPackages()
        remember_parsed(bundled.fhirpathpy, bundled.parsed_constraint)

    def member_of(value_set: str, value: Any) -> bool | None:
        codes = value.get("coding") if isinstance(value, dict) and "coding" in value else [value]
        answers = set()
        for c in codes or ():
            if isinstance(c, str):
                answers.add(terminology.check(value_set, None, c).status)
            elif isinstance(c, dict) and isinstance(c.get("code"), str):
                system = c.get("system") if isinstance(c.get("system"), str) else None
                answers.add(terminology.check(value_set, system, c["code"]).status)
        if "in" in answers:
            return True
        return None if "unknown" in answers or not answers else False

    return TerminologyBindings(terminology, hl7_offline=hl7_offline), Invariants(member_of=member_of)


def load_validator(
    dirs: Sequence[Path] | None = None, roots: Sequence[str] = DEFAULT_ROOTS, *, hl7_offline: bool = False
) -> Validator:
    packages = load_packages(dirs, roots)
    bindings, invariants = plugins(packages, hl7_offline=hl7_offline)
    return Validator(packages, Profiles(packages, make_snapshot=with_snapshot), bindings, invariants)
