"""Catalog rules applied before any request: "did you mean" for model names and the tuning cut-off.

Both hold on every backend (the generic pre-flight applies them), so they are
proven here on the fake backend, whose service records every request it gets.
"""

from __future__ import annotations

import datetime as dt
import logging
from pathlib import Path
from typing import Any

import pytest
from fake_service import EXAMPLES, FakeService

import tuneport
from tuneport.catalog import TUNING_CUTOFF_BEFORE_RETIREMENT, Catalog, CatalogEntry
from tuneport.errors import UnsupportedCapability, UnsupportedParameter
from tuneport.plugins import PluginHost

TODAY = dt.datetime.now(dt.timezone.utc).date()


@pytest.fixture(scope="module")
def real_catalog() -> Catalog:
    host = PluginHost(environ={})
    host.load_all()
    return host.catalog()


def _config(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "tuneport.toml"
    path.write_text(text)
    return path


# --- did you mean ---------------------------------------------------------------------------------


@pytest.mark.parametrize("typo", ["fake-bse-001", "fake-base-00l", "FAKE-BASE-001", "fake-base001"])
def test_a_near_miss_of_a_listed_name_is_refused_before_any_request(
    client: tuneport.TuningClient, service: FakeService, typo: str
) -> None:
    with pytest.raises(UnsupportedParameter) as info:
        client.create(base_model=typo, training_data=EXAMPLES)
    assert info.value.parameter == "base_model"
    assert "did you mean 'fake-base-001'" in str(info.value)
    assert service.requests == []  # nothing uploaded, nothing created


def test_a_name_far_from_every_listed_one_keeps_the_allow_warning(
    client: tuneport.TuningClient, service: FakeService, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.WARNING, logger="tuneport"):
        job = client.create(base_model="fake-next", training_data=EXAMPLES)
    assert job.base_model == "fake-next"
    assert "model-not-in-catalog" in caplog.text
    assert service.requests != []


def test_a_name_that_differs_only_in_its_numbers_is_a_new_version_not_a_typo(
    client: tuneport.TuningClient,
) -> None:
    job = client.create(base_model="fake-base-002", training_data=EXAMPLES)
    assert job.base_model == "fake-base-002"


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("gemini-2.5-flsh", "gemini-2.5-flash"),
        ("gemini-25-flash", "gemini-2.5-flash"),
        ("Gemini-2.5-Flash", "gemini-2.5-flash"),
        ("gemni-2.5-pro", "gemini-2.5-pro"),
        ("gemini-2.5-flash-lit", "gemini-2.5-flash-lite"),
        ("gemini-3.6-flash", None),  # a version the catalog does not know yet
        ("gemini-2.5-flash-preview-05-20", None),
        ("gemini-9-ultra", None),
    ],
)
def test_likely_typo_on_the_vertex_catalog(real_catalog: Catalog, name: str, expected: str | None) -> None:
    assert real_catalog.likely_typo("vertex", name) == expected


@pytest.mark.parametrize(
    ("backend", "settings", "typo", "expected"),
    [
        (
            "vertex",
            {"project": "demo-project", "location": "us-central1"},
            "gemini-2.5-flsh",
            "gemini-2.5-flash",
        ),
        ("gemini", {}, "models/gemini-1.5-flash-001-tunin", "models/gemini-1.5-flash-001-tuning"),
    ],
)
def test_every_shipped_backend_suggests_before_anything_else(
    backend: str, settings: dict[str, Any], typo: str, expected: str
) -> None:
    spec = {"base_model": typo, "training_data": [("1", "2")]}
    report = tuneport.validate(spec, backend=backend, settings=settings, environ={})
    problem = next(p for p in report.problems if p.field == "base_model")
    assert problem.severity == "error"
    assert f"did you mean '{expected}'" in problem.message


def test_a_new_vertex_model_far_from_the_listed_ones_is_only_a_warning() -> None:
    spec = {"base_model": "gemini-9-ultra", "training_data": [("1", "2")]}
    report = tuneport.validate(
        spec, backend="vertex", settings={"project": "demo-project", "location": "us"}, environ={}
    )
    found = [p for p in report.problems if p.field == "base_model"]
    assert [(p.rule, p.severity) for p in found] == [("model-not-in-catalog", "warning")]


# --- the tuning cut-off ---------------------------------------------------------------------------


def test_tuning_ends_thirty_days_before_retirement_unless_a_cutoff_is_given() -> None:
    retires = dt.date(2027, 5, 7)
    entry = CatalogEntry(backend="b", base_model="m", discontinued=retires)
    assert entry.tuning_ends == retires - TUNING_CUTOFF_BEFORE_RETIREMENT == dt.date(2027, 4, 7)
    assert entry.tuning_closed(dt.date(2027, 4, 7)) is None
    assert entry.tuning_closed(dt.date(2027, 4, 8)) == (
        "new tuning on m ended on 2027-04-07, 30 days before it retires on 2027-05-07"
    )
    assert entry.tuning_closed(dt.date(2027, 6, 1)) == (
        "new tuning on m ended on 2027-04-07, 30 days before it retired on 2027-05-07"
    )
    later = entry.model_copy(update={"tuning_cutoff": dt.date(2027, 5, 1)})
    assert later.tuning_closed(dt.date(2027, 4, 20)) is None
    assert CatalogEntry(backend="b", base_model="m").tuning_closed(dt.date(2100, 1, 1)) is None


def test_a_model_past_its_cutoff_is_refused_before_any_request(
    make_client: Any, service: FakeService, tmp_path: Path
) -> None:
    retires = TODAY + dt.timedelta(days=10)
    ended = retires - dt.timedelta(days=30)
    config = _config(tmp_path, f'[catalog.fake."fake-base-001"]\ndiscontinued = {retires.isoformat()}\n')
    with pytest.raises(UnsupportedCapability) as info:
        make_client(config=config).create(base_model="fake-base-001", training_data=EXAMPLES)
    assert f"new tuning on fake-base-001 ended on {ended}, 30 days before it retires on {retires}" in str(
        info.value
    )
    assert service.requests == []


def test_a_model_before_its_cutoff_is_tuned(make_client: Any, tmp_path: Path) -> None:
    retires = TODAY + dt.timedelta(days=31)
    config = _config(tmp_path, f'[catalog.fake."fake-base-001"]\ndiscontinued = {retires.isoformat()}\n')
    job = make_client(config=config).create(base_model="fake-base-001", training_data=EXAMPLES)
    assert job.base_model == "fake-base-001"


def test_a_moved_cutoff_from_the_config_reopens_tuning(make_client: Any, tmp_path: Path) -> None:
    retires = TODAY + dt.timedelta(days=10)
    config = _config(
        tmp_path,
        f'[catalog.fake."fake-base-001"]\ndiscontinued = {retires.isoformat()}\n'
        f"tuning_cutoff = {(TODAY + dt.timedelta(days=5)).isoformat()}\n",
    )
    job = make_client(config=config).create(base_model="fake-base-001", training_data=EXAMPLES)
    assert job.base_model == "fake-base-001"


def test_the_emulator_has_no_cutoff_for_the_models_it_emulates(real_catalog: Catalog) -> None:
    retired = real_catalog.get("vertex", "gemini-2.0-flash-001")
    assert retired is not None
    assert retired.tuning_closed(TODAY) is not None
    on_emulator = real_catalog.for_emulator().get("vertex", "gemini-2.0-flash-001")
    assert on_emulator is not None
    assert on_emulator.tunable
    assert on_emulator.tuning_closed(TODAY) is None


# --- the shipped data ------------------------------------------------------------------------------


def test_every_shipped_entry_cites_its_source_with_a_date_and_says_what_it_costs(
    real_catalog: Catalog,
) -> None:
    for entry in real_catalog.models():
        assert entry.source, entry.base_model
        assert entry.source.startswith("https://"), entry.base_model
        assert entry.source_read is not None, entry.base_model
        assert entry.price is not None or entry.price_note, entry.base_model


def test_the_current_vertex_gemini_models(real_catalog: Catalog) -> None:
    for name in ("gemini-3.5-flash", "gemini-3.5-flash-lite", "gemini-3.1-flash-lite", "gemini-2.5-pro"):
        entry = real_catalog.get("vertex", name)
        assert entry is not None, name
        assert entry.tunable, name
        assert entry.hyperparameters_of("supervised")["epoch_count"].max == 100
    lite = real_catalog.get("vertex", "gemini-3.1-flash-lite")
    assert lite is not None
    assert (lite.regions, lite.serving) == (("us-central1", "europe-west4"), ("us", "eu"))
    for name, retired in (
        ("gemini-2.0-flash-001", "2026-02-05"),
        ("gemini-2.0-flash-lite-001", "2026-02-25"),
    ):
        old = real_catalog.get("vertex", name)
        assert old is not None
        assert (old.tunable, old.status, str(old.discontinued)) == (False, "retired", retired)
    for name in ("gemini-2.5-pro", "gemini-2.5-flash", "gemini-2.5-flash-lite"):
        entry = real_catalog.get("vertex", name)
        assert entry is not None
        # The once-published dates were extended and the new ones are unconfirmed: no guessed date.
        assert entry.discontinued is None, name
        assert entry.lifecycle_note, name
    flash = real_catalog.get("vertex", "gemini-2.5-flash")
    assert flash is not None
    assert flash.hyperparameters_of("preference")["epoch_count"].max == 100
    assert flash.hyperparameters_of("distillation")["epoch_count"].max == 100
    # Validation shares as documented: 25% of the training file's bytes (supervised); preference:
    # 30% of the training examples once the validation set has more than 1,000.
    assert flash.limits_of("supervised").max_validation_share_bytes == 0.25
    preference = flash.limits_of("preference")
    assert (preference.max_validation_share_rows, preference.validation_share_rows_over) == (0.3, 1000)


def test_tunable_true_from_the_config_reopens_a_model_past_its_cutoff(
    make_client: Any, tmp_path: Path
) -> None:
    retired = (TODAY - dt.timedelta(days=400)).isoformat()
    config = _config(tmp_path, f'[catalog.fake."fake-base-001"]\ndiscontinued = {retired}\ntunable = true\n')
    job = make_client(config=config).create(base_model="fake-base-001", training_data=EXAMPLES)
    assert job.base_model == "fake-base-001"


def test_the_validation_share_is_gemini_supervised_tunings_only(real_catalog: Catalog) -> None:
    """Google states the 25% byte share for Gemini supervised tuning: open models and distillation
    must not be refused by it (it sat in the vertex defaults at first and reached them)."""
    gemini = real_catalog.get("vertex", "gemini-2.5-flash")
    qwen = real_catalog.get("vertex", "qwen/qwen3-5@qwen3.5-9b")
    assert gemini is not None
    assert qwen is not None
    assert gemini.limits_of("supervised").max_validation_share_bytes == 0.25
    assert gemini.limits_of("distillation").max_validation_share_bytes is None
    assert gemini.limits_of("preference").max_validation_share_rows == 0.3
    assert qwen.limits_of("supervised").max_validation_share_bytes is None
