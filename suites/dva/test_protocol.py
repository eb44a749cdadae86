"""Protocol probes on the DVA (OAuth, TLS, lists): one test per probe scenario (``fixtures/scenarios/dva``)."""

import pytest

from suites.plugin import assert_certified, case_params


@pytest.mark.parametrize("case", case_params("probe"), indirect=True)
def test_protocol(case):
    assert_certified(case)
