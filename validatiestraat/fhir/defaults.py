"""The validator a command gets by default: the MP9 3.0 chain and what the HL7 validator always loads beside it.

    validator = load_validator()                 # packages from the usual caches (see packages.search_dirs)
    validator = load_validator(dirs=[Path(...)])

The terminology and FHIRPath plug-ins and the snapshot generator are wired in when their modules are present.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from validatiestraat.fhir.packages import BUNDLE, BundledPackages, PackageError, PackageSet, search_dirs
from validatiestraat.fhir.profiles import Profiles
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


def load_validator(dirs: Sequence[Path] | None = None, roots: Sequence[str] = DEFAULT_ROOTS) -> Validator:
    packages = load_packages(dirs, roots)
    return Validator(packages, Profiles(packages))
