"""The run configuration: the example file, environment overrides, CLI flags, and clear errors."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from validatiestraat.config import DEFAULT_PROVIDER, ConfigError, RunConfig, load_config
from validatiestraat.scenarios import FIXTURES

EXAMPLE = FIXTURES / "config" / "example-dva.toml"

MINIMAL = """
way = "auto"
[target]
authorize_url = "https://dva.example.nl/oauth/authorize"
token_url = "https://api.example.nl/oauth/token"
fhir_base = "https://api.example.nl/fhir/"
provider = "voorbeeldpraktijk"
"""


def write(tmp_path: Path, text: str, name: str = "run.toml") -> Path:
    path = tmp_path / name
    path.write_text(text, "utf-8")
    return path


def test_the_example_config_is_valid_and_documents_an_external_dva() -> None:
    config = load_config(EXAMPLE, env={})
    assert config.role == "dva" and config.way == "auto" and config.t == date(2026, 3, 1)
    assert config.target is not None
    assert config.target.fhir_base == "https://dva-api.example.nl/fhir"
    assert config.target.provider == "voorbeeldpraktijk@medmij"
    from mock_providers.straat import PROVIDER
    from validatiestraat.targets import external_endpoints

    endpoints = external_endpoints(config)
    assert endpoints is not None and endpoints.all_hostnames == ("dva.example.nl", "dva-api.example.nl")
    assert endpoints.digid_return_origins == ("https://dva.example.nl",)
    assert DEFAULT_PROVIDER == PROVIDER  # the config's default is the reference straat's provider
    assert config.timeouts.request == 30.0 and config.timeouts.manual == 300.0
    assert config.straat.bind == "127.0.0.1"
    assert config.describe() == {
        "role": "dva",
        "target": "https://dva-api.example.nl/fhir",
        "provider": "voorbeeldpraktijk@medmij",
        "way": "auto",
        "scope": "full",
        "t": "2026-03-01",
    }
    # every key the loader knows is named in the example, so the example documents them all
    from validatiestraat.config import _SECTIONS, _TOP

    text = EXAMPLE.read_text("utf-8")
    for key in [*_TOP, *(k for fields in _SECTIONS.values() for k in fields)]:
        assert f"{key} =" in text or f"{key}=" in text, key


def test_no_file_no_environment_is_the_reference_dva() -> None:
    config = load_config(None, env={})
    assert config == RunConfig()
    assert not config.external and config.describe()["target"] == "reference"


def test_a_minimal_target_normalises_urls_and_the_provider_name(tmp_path: Path) -> None:
    config = load_config(write(tmp_path, MINIMAL), env={})
    assert config.target is not None
    assert config.target.fhir_base == "https://api.example.nl/fhir"  # no trailing slash
    assert config.target.provider == "voorbeeldpraktijk@medmij"
    assert config.target.service_id == "990003"


def test_environment_overrides_the_file_and_flags_override_the_environment(tmp_path: Path) -> None:
    env = {
        "VALIDATIESTRAAT_TARGET_FHIR_BASE": "https://other.example.nl/r4",
        "validatiestraat_timeouts_manual": "12.5",  # case-insensitive
        "VALIDATIESTRAAT_TARGET_HOSTNAMES": "node1.example.nl, node2.example.nl",
        "VALIDATIESTRAAT_TARGET_RESOLVE": "api.example.nl=10.0.0.5",
        "VALIDATIESTRAAT_STRAAT_PORTS": '{"stelselnode": 8441, "pgo-front": "8443"}',
        "VALIDATIESTRAAT_WAY": "manual",
        "VALIDATIESTRAAT_T": "2026-05-05",
        "VALIDATIESTRAAT_PKI_DIR": "/somewhere",  # not a config key: the PKI's own variable, left alone
        "VALIDATIESTRAAT_SHARED": "/else",
        "HOME": "/root",
    }
    config = load_config(write(tmp_path, MINIMAL), env=env)
    assert config.target is not None
    assert config.target.fhir_base == "https://other.example.nl/r4"
    assert config.target.hostnames == ("node1.example.nl", "node2.example.nl")
    assert dict(config.target.resolve) == {"api.example.nl": "10.0.0.5"}
    assert dict(config.straat.ports) == {"stelselnode": 8441, "pgo-front": 8443}
    assert config.timeouts.manual == 12.5
    assert config.way == "manual" and config.t == date(2026, 5, 5)
    assert config.straat.pki_dir is None

    flagged = load_config(write(tmp_path, MINIMAL), env=env, target="https://flag.example.nl/fhir", t="2026-06-06")
    assert flagged.target is not None and flagged.target.fhir_base == "https://flag.example.nl/fhir"
    assert flagged.t == date(2026, 6, 6) and flagged.way == "manual"


def test_tokens_from_the_environment_replace_the_file_table(tmp_path: Path) -> None:
    text = MINIMAL.replace('way = "auto"', 'way = "preshared"') + '[tokens]\nvs-patient-yilmaz = "from-file"\n'
    config = load_config(write(tmp_path, text), env={})
    assert dict(config.tokens) == {"vs-patient-yilmaz": "from-file"}
    assert config.scope == "fhir-only"
    env = {"VALIDATIESTRAAT_TOKENS": "vs-patient-verhoeven=abc==, vs-patient-brouwer=Bearer def"}
    config = load_config(write(tmp_path, text), env=env)
    assert dict(config.tokens) == {"vs-patient-verhoeven": "abc==", "vs-patient-brouwer": "def"}
    config = load_config(write(tmp_path, text), env={"VALIDATIESTRAAT_TOKENS": '{"vs-patient-van-dam": "x"}'})
    assert dict(config.tokens) == {"vs-patient-van-dam": "x"}


def test_preshared_needs_only_the_fhir_base_and_tokens(tmp_path: Path) -> None:
    text = 'way = "preshared"\n[target]\nfhir_base = "https://api.example.nl/fhir"\n[tokens]\np1 = "tok"\n'
    config = load_config(write(tmp_path, text), env={})
    assert config.target is not None
    assert config.target.authorize_url == "https://api.example.nl/not-configured/authorize"
    assert config.describe()["scope"] == "fhir-only"


def test_relative_paths_are_relative_to_the_config_file(tmp_path: Path) -> None:
    (tmp_path / "certs").mkdir()
    for name in ("pgo.crt", "pgo.key", "ca.pem"):
        (tmp_path / "certs" / name).write_text("x")
    text = MINIMAL + '[client]\ncert = "certs/pgo.crt"\nkey = "certs/pgo.key"\nca = "certs/ca.pem"\n'
    config = load_config(write(tmp_path, text), env={})
    assert config.client.cert == tmp_path / "certs" / "pgo.crt"
    assert config.client.ca == tmp_path / "certs" / "ca.pem"


def test_fhir_package_caches_from_the_file_or_the_environment(tmp_path: Path) -> None:
    config = load_config(write(tmp_path, '[fhir]\npackages = ["caches/one", "/opt/fhir"]\n'), env={})
    assert config.fhir.packages == (tmp_path / "caches" / "one", Path("/opt/fhir"))
    env = {"VALIDATIESTRAAT_FHIR_PACKAGES": "/a,/b"}
    assert load_config(None, env=env).fhir.packages == (Path("/a"), Path("/b"))
    assert load_config(None, env={}).fhir.packages == ()


def test_the_package_search_reads_the_same_variable(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from validatiestraat.fhir.packages import search_dirs

    one, two = tmp_path / "one", tmp_path / "two"
    one.mkdir()
    two.mkdir()
    monkeypatch.setenv("VALIDATIESTRAAT_FHIR_PACKAGES", f"{one},{two}")
    assert search_dirs()[:2] == [one, two]


@pytest.mark.parametrize(
    ("text", "env", "message"),
    [
        ('colour = "blue"\n', {}, "colour: unknown key"),
        ('[target]\nfhir_bsae = "https://x.nl/fhir"\n', {}, "unknown key 'fhir_bsae' in [target]"),
        (
            "",
            {"VALIDATIESTRAAT_TARGET_FHIRBASE": "https://x.nl"},
            "environment variable VALIDATIESTRAAT_TARGET_FHIRBASE",
        ),
        ('[target]\nauthorize_url = "https://x.nl/a"\n', {}, "target.fhir_base is required"),
        (
            '[target]\nfhir_base = "https://x.nl/fhir"\n',
            {},
            "needs target.authorize_url, target.token_url, target.provider",
        ),
        ('way = "preshared"\n[target]\nfhir_base = "https://x.nl/fhir"\n', {}, "needs [tokens]"),
        (
            'way = "preshared"\n[target]\nfhir_base = "http://x.nl/fhir"\n[tokens]\na="b"\n',
            {},
            "must be an https:// URL",
        ),
        ('way = "preshared"\n[target]\nfhir_base = "https://x.nl:99999/"\n[tokens]\na="b"\n', {}, "is not a URL"),
        ("", {"VALIDATIESTRAAT_TARGET_FHIR_BASE": "https://x.nl/f?x=1"}, "must not carry a query"),
        ('way = "sometimes"\n', {}, "'sometimes' is not one of auto, manual, preshared"),
        ('role = "pgo"\n', {}, "not one of dva"),
        ('t = "23-11-2026"\n', {}, "expected a date YYYY-MM-DD"),
        ("", {"VALIDATIESTRAAT_T": "tomorrow"}, "environment variable VALIDATIESTRAAT_T: expected a date"),
        (MINIMAL.replace('"voorbeeldpraktijk"', '"Praktijk 1"'), {}, "is not a Zorgaanbiedernaam"),
        ("[timeouts]\nmanual = -1\n", {}, "positive number of seconds"),
        ('[client]\ncert = "nowhere.crt"\n', {}, "client.cert and client.key go together"),
        ('[client]\nca = "nowhere.pem"\n', {}, "is not a file"),
        ("[straat]\nports = { dva = 1 }\n", {}, "'dva' is not one of"),
        ("", {"VALIDATIESTRAAT_TOKENS": "just-a-token"}, "expected key=value pairs"),
        ("[target\n", {}, "not valid TOML"),
    ],
)
def test_mistakes_are_config_errors_that_say_where(tmp_path: Path, text: str, env: dict, message: str) -> None:
    with pytest.raises(ConfigError) as caught:
        load_config(write(tmp_path, text), env=env)
    assert message in str(caught.value)


def test_a_missing_config_file_is_a_config_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="does not exist"):
        load_config(tmp_path / "nope.toml", env={})


def test_a_bad_token_is_refused_without_echoing_it(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as caught:
        load_config(None, env={"VALIDATIESTRAAT_TOKENS": "vs-patient-a=secret value"})
    assert "secret" not in str(caught.value)
