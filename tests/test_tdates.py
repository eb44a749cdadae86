from datetime import date

from validatiestraat.fhir.tdates import expand, has_placeholders

T = date(2025, 1, 31)


def test_days_months_years_and_clamping() -> None:
    text = '"${DATE, T, D, -20}T08:15:00+02:00" ${DATE, T, M, +1} ${DATE, T, Y, -40} ${DATE, T, D, 0}'
    assert expand(text, T) == '"2025-01-11T08:15:00+02:00" 2025-02-28 1985-01-31 2025-01-31'


def test_text_without_placeholders_is_unchanged() -> None:
    text = '<start value="2024-02-29"/> ${NOT, A, PLACEHOLDER}'
    assert not has_placeholders(text)
    assert expand(text, T) == text
