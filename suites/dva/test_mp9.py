"""MP9 3.0 medication searches on the DVA: one test per scenario and format (``fixtures/scenarios/dva``)."""

import pytest

from suites.plugin import assert_certified, case_params


@pytest.mark.parametrize("case", case_params("mp9-search"), indirect=True)
def test_mp9(case):
    assert_certified(case)
