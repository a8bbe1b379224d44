"""The cost estimate (tuneport.cost): billable tokens x epochs x price, its error bars, and max_cost."""

from __future__ import annotations

import asyncio
import math
from pathlib import Path
from typing import Any

import pytest
from fake_service import EXAMPLES, FakeService

import tuneport
from tuneport.catalog import CatalogEntry, MethodRule, ParamRule, Price
from tuneport.client import AsyncTuningClient, TuningClient
from tuneport.cost import (
    ASCII_ERROR,
    OTHER_SCRIPTS_FACTOR,
    CostEstimate,
    CostLimitExceeded,
    CostNotApproved,
    check_budget,
    estimate_cost,
    measure,
)
from tuneport.datasets import dataset_stats, estimate_tokens
from tuneport.errors import SpecError
from tuneport.models import Example, PreferenceExample, PromptExample, TuningMethod

PRICE = Price(amount=2.0, per=1_000_000, source="https://example.test/pricing")
EPOCHS = {"epoch_count": ParamRule(min=1, integer=True)}


def entry(**fields: Any) -> CatalogEntry:
    fields.setdefault("price", PRICE)
    fields.setdefault("hyperparameters", EPOCHS)
    return CatalogEntry(backend="fake", base_model="m", **fields)


def supervised() -> tuple[Example, ...]:
    return (
        Example.from_pair("What is the capital of France?", "Paris is the capital of France."),
        Example.from_pair("Name a primary colour.", "Red is a primary colour."),
    )


def estimate(
    data: Any, model: CatalogEntry, method: TuningMethod = TuningMethod.SUPERVISED, epochs: int | None = 3
) -> CostEstimate:
    stats = measure(data, entry=model, method=method)
    return estimate_cost(stats, backend="fake", base_model="m", entry=model, method=method, epochs=epochs)


def test_supervised_amount_is_billable_tokens_times_epochs_times_price() -> None:
    data = supervised()
    tokens = dataset_stats(data, epochs=1).billable_tokens
    assert tokens is not None
    assert tokens > 0
    result = estimate(data, entry())
    assert result.tokens_per_epoch == tokens
    assert result.billable_tokens == tokens * 3
    assert result.epochs_from == "spec"
    assert result.amount == pytest.approx(tokens * 3 * 2.0 / 1_000_000)
    assert result.low == pytest.approx(result.amount * (1 - ASCII_ERROR))
    assert result.high == pytest.approx(result.amount * (1 + ASCII_ERROR))
    assert result.currency == "USD"
    assert not result.lower_bound
    text = result.describe()
    assert "3 epochs (spec)" in text
    assert "https://example.test/pricing" in text
    payload = result.to_dict()
    assert payload["billable_tokens"] == tokens * 3
    assert payload["price"]["amount"] == 2.0


def test_billable_tokens_are_capped_at_the_token_limit() -> None:
    from tuneport.datasets import DatasetLimits

    data = (Example.from_pair("x" * 400, "y" * 400),)  # 200 estimated tokens
    capped = estimate(data, entry(limits=DatasetLimits(max_example_tokens=50)))
    assert capped.tokens_per_epoch == 50


def test_preference_bills_the_prompt_and_both_answers() -> None:
    prompt, good, bad = "Say hello politely.", "Hello, how are you today?", "Go away."
    data = (PreferenceExample(prompt=prompt, preferred=good, rejected=bad),)
    model = entry(methods={TuningMethod.PREFERENCE: MethodRule()})
    result = estimate(data, model, TuningMethod.PREFERENCE, epochs=2)
    expected = estimate_tokens(prompt) + estimate_tokens(good) + estimate_tokens(bad)
    assert abs(result.tokens_per_epoch - expected) <= 2  # rounding: the estimate rounds once per example
    assert result.amount == pytest.approx(result.tokens_per_epoch * 2 * PRICE.per_token())


def test_distillation_is_a_lower_bound_without_an_upper_bar() -> None:
    data = (PromptExample(prompt="Explain tides in one paragraph."),)
    model = entry(methods={TuningMethod.DISTILLATION: MethodRule()})
    result = estimate(data, model, TuningMethod.DISTILLATION, epochs=1)
    assert result.lower_bound
    assert result.amount is not None
    assert result.high is None
    assert result.describe().startswith("cost: at least $")
    assert "teacher" in result.note


def test_a_method_price_overrides_the_entry_price() -> None:
    dear = Price(amount=10.0)
    model = entry(methods={TuningMethod.SUPERVISED: MethodRule(price=dear)})
    result = estimate(supervised(), model)
    assert result.price == dear
    assert result.amount == pytest.approx(result.tokens_per_epoch * 3 * 10.0 / 1_000_000)


def test_no_published_price_gives_no_amount_and_says_why() -> None:
    result = estimate(supervised(), entry(price=None, price_note="open model: billed by compute hours"))
    assert result.amount is None
    assert result.low is None
    assert "billed by compute hours" in result.note
    assert result.describe().startswith("cost: unknown")


def test_unset_epochs_use_the_catalog_default_or_give_no_amount() -> None:
    unknown = estimate(supervised(), entry(), epochs=None)
    assert unknown.amount is None
    assert "dataset size" in unknown.note
    with_default = entry(hyperparameters={"epoch_count": ParamRule(min=1, default=4)})
    known = estimate(supervised(), with_default, epochs=None)
    assert known.epochs == 4
    assert known.epochs_from == "catalog default"
    assert known.amount is not None


def test_other_scripts_get_the_wider_error_bars() -> None:
    data = (Example.from_pair("東京はどこですか", "日本の首都です"),)
    result = estimate(data, entry())
    assert result.amount is not None
    assert result.low == pytest.approx(result.amount / OTHER_SCRIPTS_FACTOR)
    assert result.high == pytest.approx(result.amount * OTHER_SCRIPTS_FACTOR)


def test_unmeasured_data_gives_no_amount() -> None:
    result = estimate_cost(
        None, backend="fake", base_model="m", entry=entry(), epochs=1, why_unmeasured="remote data"
    )
    assert result.amount is None
    assert result.note == "remote data"


def test_check_budget_refuses_over_the_limit_and_unknown_amounts() -> None:
    result = estimate(supervised(), entry())
    assert result.amount is not None
    check_budget(result, None)
    check_budget(result, result.amount)  # at the limit is within it
    with pytest.raises(CostLimitExceeded) as info:
        check_budget(result, result.amount / 2)
    error = info.value
    assert isinstance(error, SpecError)
    assert error.field == "max_cost"
    assert error.first.rule == "over-max-cost"
    assert error.estimate is result
    assert "3 epochs" in str(error)
    unknown = estimate(supervised(), entry(price=None))
    with pytest.raises(CostLimitExceeded) as unknown_info:
        check_budget(unknown, 100.0)
    assert unknown_info.value.first.rule == "cost-unknown"
    for bad in (-1.0, float("nan")):
        with pytest.raises(SpecError) as bad_info:
            check_budget(result, bad)
        assert bad_info.value.field == "max_cost"
    check_budget(result, float("inf"))  # no limit


# --- through the client: refused before any request -------------------------------------------------


def priced_config(tmp_path: Path, amount: float = 1_000_000.0) -> Path:
    """A tuneport.toml giving fake-base-001 a price of *amount* per million tokens (so cents add up)."""
    config = tmp_path / "tuneport.toml"
    config.write_text(f'[catalog.fake."fake-base-001".price]\namount = {amount}\nsource = "test"\n')
    return config


def test_create_refuses_a_job_over_max_cost_before_any_request(
    make_client: Any, service: FakeService, tmp_path: Path
) -> None:
    client: TuningClient = make_client(config=priced_config(tmp_path))
    tokens = dataset_stats(EXAMPLES, epochs=1).billable_tokens
    assert tokens is not None
    expected = tokens * 2 * 1.0  # $1 a token
    with pytest.raises(CostLimitExceeded) as info:
        client.create(
            base_model="fake-base-001", training_data=EXAMPLES, epoch_count=2, max_cost=expected - 1
        )
    assert info.value.estimate.amount == pytest.approx(expected)
    assert service.requests == []
    seen: list[CostEstimate] = []
    job = client.create(
        base_model="fake-base-001",
        training_data=EXAMPLES,
        epoch_count=2,
        max_cost=expected,
        on_cost=seen.append,
    )
    assert job.base_model == "fake-base-001"
    assert [e.amount for e in seen] == [pytest.approx(expected)]


def test_create_refuses_an_unknown_price_under_max_cost(make_client: Any, service: FakeService) -> None:
    client: TuningClient = make_client()
    with pytest.raises(CostLimitExceeded, match="no published"):
        client.create(base_model="fake-base-001", training_data=EXAMPLES, epoch_count=1, max_cost=5)
    assert service.requests == []
    # Without a limit the job goes ahead: the estimate is information.
    assert client.create(base_model="fake-base-001", training_data=EXAMPLES, epoch_count=1).id


def test_on_cost_can_stop_the_job(make_client: Any, service: FakeService, tmp_path: Path) -> None:
    client: TuningClient = make_client(config=priced_config(tmp_path))

    seen: list[CostEstimate] = []

    def refuse(estimate: CostEstimate) -> bool:
        seen.append(estimate)
        return False

    with pytest.raises(CostNotApproved) as info:
        client.create(base_model="fake-base-001", training_data=EXAMPLES, epoch_count=1, on_cost=refuse)
    assert info.value.estimate is seen[0]
    assert service.requests == []


def test_async_create_honours_max_cost(make_async_client: Any, service: FakeService, tmp_path: Path) -> None:
    async def run() -> None:
        client: AsyncTuningClient = make_async_client(config=priced_config(tmp_path))
        with pytest.raises(CostLimitExceeded):
            await client.create(
                base_model="fake-base-001", training_data=EXAMPLES, epoch_count=1, max_cost=0.5
            )
        await client.aclose()

    asyncio.run(run())
    assert service.requests == []


def test_validate_reports_the_estimate(host: Any, tmp_path: Path) -> None:
    report = tuneport.validate(
        {"base_model": "fake-base-001", "training_data": EXAMPLES, "hyperparameters": {"epoch_count": 3}},
        backend="fake",
        plugins=host,
        config=priced_config(tmp_path, amount=4.0),
        environ={},
    )
    assert report.cost is not None
    tokens = dataset_stats(EXAMPLES, epochs=1).billable_tokens
    assert tokens is not None
    assert report.cost.amount == pytest.approx(tokens * 3 * 4.0 / 1_000_000)
    assert report.to_dict()["cost"]["billable_tokens"] == tokens * 3
    assert math.isclose(report.to_dict()["cost"]["amount"], report.cost.amount)


def test_validate_says_why_remote_data_has_no_estimate(host: Any, tmp_path: Path) -> None:
    report = tuneport.validate(
        {
            "base_model": "fake-base-001",
            "training_data": "gs://b/train.jsonl",
            "hyperparameters": {"epoch_count": 1},
        },
        backend="fake",
        plugins=host,
        config=priced_config(tmp_path),
        environ={},
    )
    assert report.cost is not None
    assert report.cost.amount is None
    assert "remote" in report.cost.note


def test_validate_without_epochs_says_so_without_reading_for_a_figure(host: Any, tmp_path: Path) -> None:
    report = tuneport.validate(
        {"base_model": "fake-base-001", "training_data": EXAMPLES},
        backend="fake",
        plugins=host,
        config=priced_config(tmp_path),
        environ={},
    )
    assert report.cost is not None
    assert report.cost.amount is None
    assert report.cost.epochs is None
    assert "epoch_count is not set" in report.cost.note
