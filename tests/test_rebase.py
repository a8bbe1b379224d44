"""``client.rebase(job, to=MODEL)`` where the service has no rebase: the job re-created from its spec (#17).

The in-memory plugin tells a supervised job's spec (``spec_of``) and has no
rebase operation, so a rebase re-creates the job on the new base; gemini can
tell neither (its training data is input-only), so it is refused before any
request.  Google's migration recipe is checked as a pure function.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Iterator
from typing import Any

import pytest

import tuneport
from tuneport._rebase import translate_hyperparameters
from tuneport.errors import JobNotReady, SpecError, UnsupportedCapability, UnsupportedParameter
from tuneport.models import Hyperparameters, JobState
from tuneport.waiting import ManualClock
from tuneport_emulator import Emulator, EmulatorClock
from tuneport_inmemory import service
from tuneport_inmemory.service import InMemoryService

PAIRS = [("1", "2"), ("3", "4"), ("IV", "V")]


@pytest.fixture
def namespace() -> str:
    return f"rebase-{uuid.uuid4().hex}"


@pytest.fixture
def memory(namespace: str) -> InMemoryService:
    return service(namespace)


@pytest.fixture
def client(namespace: str) -> Iterator[tuneport.TuningClient]:
    with tuneport.connect(backend="inmemory", namespace=namespace, environ={}, clock=ManualClock()) as made:
        yield made


@pytest.fixture
async def aclient(namespace: str) -> AsyncIterator[tuneport.AsyncTuningClient]:
    async with tuneport.connect_async(
        backend="inmemory", namespace=namespace, environ={}, clock=ManualClock()
    ) as made:
        yield made


def _finished(client: tuneport.TuningClient, memory: InMemoryService, **fields: Any) -> tuneport.TuningJob:
    spec: dict[str, Any] = {"base_model": "inmemory-base", "training_data": PAIRS, **fields}
    job = client.create(**spec)
    memory.advance(3600)
    done = client.get(job.id)
    assert done.state is JobState.SUCCEEDED
    return done


def test_a_job_is_re_created_on_the_new_base(client: tuneport.TuningClient, memory: InMemoryService) -> None:
    old = _finished(client, memory, display_name="bot", labels={"team": "ml"}, epoch_count=2)
    new = client.rebase(old, to="inmemory-next", epoch_count=3, labels={"generation": "2"})
    assert new.id != old.id
    assert new.base_model == "inmemory-next"
    assert new.display_name == "bot"
    assert new.hyperparameters.epoch_count == 3
    assert new.labels == {"team": "ml", "generation": "2"}
    assert memory.training_pairs(new.id) == PAIRS
    # Unchanged hyperparameters carry over as they were.
    again = client.rebase(old.id, to="inmemory-other")
    assert again.hyperparameters.epoch_count == 2
    memory.advance(3600)
    assert client.get(new.id).state is JobState.SUCCEEDED


async def test_the_async_client_re_creates_alike(
    aclient: tuneport.AsyncTuningClient, client: tuneport.TuningClient, memory: InMemoryService
) -> None:
    old = _finished(client, memory)
    new = await aclient.rebase(old.id, to="inmemory-next", hyperparameters={"epoch_count": 4})
    assert (new.base_model, new.hyperparameters.epoch_count) == ("inmemory-next", 4)


def _job_count(client: tuneport.TuningClient) -> int:
    return len(list(client.list()))


def test_refusals_create_nothing(client: tuneport.TuningClient, memory: InMemoryService) -> None:
    old = _finished(client, memory)
    before = _job_count(client)
    with pytest.raises(SpecError) as kept:
        client.rebase(old.id, to="inmemory-next", training_data=PAIRS)
    assert kept.value.problems[0].field == "training_data"
    with pytest.raises(SpecError) as same:
        client.rebase(old.id, to="inmemory-base")
    assert same.value.problems[0].field == "to"
    with pytest.raises(SpecError) as bad:
        client.rebase(old.id, to="inmemory-next", epoch_count=0)
    assert bad.value.problems[0].field == "hyperparameters.epoch_count"
    with pytest.raises(SpecError):
        client.rebase(old.id, to="two words")
    with pytest.raises(UnsupportedParameter):  # the backend takes epochs only
        client.rebase(old.id, to="inmemory-next", learning_rate_multiplier=2.0)
    running = client.create(base_model="inmemory-base", training_data=PAIRS)
    with pytest.raises(JobNotReady):
        client.rebase(running.id, to="inmemory-next")
    assert _job_count(client) == before + 1  # only the running job made here


def test_a_job_whose_spec_is_not_kept_is_refused(
    client: tuneport.TuningClient, memory: InMemoryService
) -> None:
    preference = [{"prompt": q, "preferred": a, "rejected": "0"} for q, a in PAIRS]
    old = _finished(client, memory, method="preference", training_data=preference)
    with pytest.raises(UnsupportedCapability, match="preferred answers"):
        client.rebase(old.id, to="inmemory-next")


def test_a_continued_job_is_refused(client: tuneport.TuningClient, memory: InMemoryService) -> None:
    first = _finished(client, memory)
    continued = _finished(client, memory, tuned_model=first.id)
    with pytest.raises(SpecError) as refused:
        client.rebase(continued.id, to="inmemory-next")
    assert refused.value.problems[0].field == "job"


def test_gemini_can_neither_rebase_nor_tell_a_spec() -> None:
    with Emulator(clock=EmulatorClock.manual()) as emulator:
        client = tuneport.connect(backend="gemini", endpoint=emulator.url, emulator=True, environ={})
        with client, pytest.raises(UnsupportedCapability, match="spec_of"):
            client.rebase("some-model", to="models/gemini-1.5-flash-001-tuning")
        assert emulator.requests() == []


# --- Google's migration recipe ------------------------------------------------------------------

RECIPE = ("gemini-1.5-flash-002", "gemini-2.5-flash")
SHORT = {
    "tuningDatasetExampleCount": "100",
    "totalBillableTokenCount": "50000",
    "userInputTokenDistribution": {"max": 900.0},
    "userOutputTokenDistribution": {"max": 300.0},
}


@pytest.mark.parametrize(("multiplier", "translated"), [(1.0, 1.0), (4.0, 2.3), (0.5, 0.6), (3000.0, 10.0)])
def test_the_recipe_translates_the_learning_rate_multiplier(multiplier: float, translated: float) -> None:
    hyper = translate_hyperparameters(Hyperparameters(learning_rate_multiplier=multiplier), *RECIPE, None)
    assert hyper.learning_rate_multiplier == translated


@pytest.mark.parametrize(
    ("epochs", "translated"), [(5, 5), (10, 10), (20, 11), (79, 16), (80, 16), (100, 20)]
)
def test_the_recipe_shortens_the_epochs_of_short_context_data(epochs: int, translated: int) -> None:
    hyper = translate_hyperparameters(Hyperparameters(epoch_count=epochs, adapter_size=4), *RECIPE, SHORT)
    assert (hyper.epoch_count, hyper.adapter_size) == (translated, 4)


def test_the_recipe_keeps_the_epochs_of_long_data_or_without_statistics() -> None:
    long = {**SHORT, "totalBillableTokenCount": "500000"}  # 5,000 tokens an example
    for stats in (long, None):
        assert translate_hyperparameters(Hyperparameters(epoch_count=40), *RECIPE, stats).epoch_count == 40


def test_the_recipe_covers_only_its_pairs() -> None:
    with pytest.raises(SpecError) as refused:
        translate_hyperparameters(Hyperparameters(), "gemini-2.0-flash-001", "gemini-2.5-flash", None)
    assert refused.value.problems[0].field == "translate_hyperparameters"
