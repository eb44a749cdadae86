"""behave hooks of the certification features: one :class:`~validatiestraat.frontend.CertificationRun` per behave
run (the straat starts with the first case), the reports at the end.

Options come as behave userdata, named like the pytest options::

    behave features/dva -D fault=dva.no_self_link -D report-dir=reports/mine -D t=2026-11-23
    behave features/dva -D target=https://dva.example.nl/ -D config=straat.toml
"""

from __future__ import annotations

import logging
import sys

from validatiestraat.frontend import CertificationRun, Options


def before_all(context):
    logging.getLogger("httpx").setLevel(logging.WARNING)  # one line per request is noise; the evidence has them
    context.certification = CertificationRun(Options.from_mapping(context.config.userdata), frontend="behave")


def after_all(context):
    run = getattr(context, "certification", None)
    if run is None:
        return
    reports = run.finish()
    if reports is not None:
        outcome = run.outcome()
        print(f"validatiestraat: {outcome.verdict.value} ({len(outcome.results)} check results)", file=sys.stderr)
        print(f"validatiestraat: reports in {reports}", file=sys.stderr)
    if run.leaks:  # a harness bug: behave reports a failing hook, the run must not look green
        raise RuntimeError(f"secrets found unredacted in the reports: {run.leaks[:5]}")


after_all.show_capture_on_success = True  # behave captures hook output; the report location must be seen
