"""Every request body the gemini adapter sends parses strictly into Google's published types.

The types come from the ``google-ai-generativelanguage`` package (a test
dependency); ``ignore_unknown_fields=False`` makes a misspelt or misplaced
field fail.
"""

from __future__ import annotations

from typing import Any

import google.ai.generativelanguage_v1beta as glm
from google.protobuf import json_format
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tuneport.models import GenerateRequest, JobSpec
from tuneport_gemini import GeminiBackend, GeminiSettings
from tuneport_gemini.wire import generate_body


def parse_strictly(body: dict[str, Any], message_type: Any) -> Any:
    message = message_type.pb()()
    json_format.ParseDict(body, message, ignore_unknown_fields=False)
    return message


def backend() -> GeminiBackend:
    return GeminiBackend(GeminiSettings(endpoint="http://127.0.0.1:1", auth="none"))


text = st.text(alphabet=st.characters(blacklist_categories=("Cs",)), min_size=1, max_size=40)
pairs = st.lists(st.tuples(text, text), min_size=1, max_size=5)
hyper = st.fixed_dictionaries(
    {},
    optional={
        "epoch_count": st.integers(1, 50),
        "batch_size": st.integers(1, 64),
        "learning_rate": st.floats(1e-6, 1.0),
    },
) | st.fixed_dictionaries({"learning_rate_multiplier": st.floats(0.01, 10.0)})


@settings(max_examples=60, suppress_health_check=[HealthCheck.too_slow])
@given(
    examples=pairs,
    hyperparameters=hyper,
    display_name=st.none() | st.text(alphabet="abc XYZ-_0", min_size=1, max_size=40),
    description=st.none() | text,
)
def test_create_bodies_are_tuned_models(
    examples: list[tuple[str, str]],
    hyperparameters: dict[str, Any],
    display_name: str | None,
    description: str | None,
) -> None:
    spec = JobSpec(
        base_model="models/gemini-1.5-flash-001-tuning",
        training_data=examples,
        hyperparameters=hyperparameters,
        display_name=display_name,
        description=description,
    )
    (req,) = backend().plan_create(spec)
    assert req.method == "POST"
    assert req.url.endswith("/v1beta/tunedModels")
    tuned_id = str(req.params["tunedModelId"])
    assert len(tuned_id) <= 40
    model = parse_strictly(req.json, glm.TunedModel)
    assert model.base_model == "models/gemini-1.5-flash-001-tuning"
    assert len(model.tuning_task.training_data.examples.examples) == len(examples)
    # learningRate and learningRateMultiplier are a oneof: never both.
    assert model.tuning_task.hyperparameters.WhichOneof("learning_rate_option") in (
        None,
        "learning_rate",
        "learning_rate_multiplier",
    )


def test_bare_base_model_names_get_the_models_prefix() -> None:
    spec = JobSpec(base_model="gemini-1.5-flash-001-tuning", training_data=[("a", "b")])
    (req,) = backend().plan_create(spec)
    assert parse_strictly(req.json, glm.TunedModel).base_model == "models/gemini-1.5-flash-001-tuning"


@settings(max_examples=60)
@given(
    prompt=text,
    temperature=st.none() | st.floats(0, 2),
    top_p=st.none() | st.floats(0, 1),
    top_k=st.none() | st.integers(1, 100),
    max_output_tokens=st.none() | st.integers(1, 8192),
    stop=st.lists(text, max_size=3),
    candidates=st.none() | st.integers(1, 4),
    system=st.none() | text,
)
def test_generate_bodies_are_generate_content_requests(
    prompt: str,
    temperature: float | None,
    top_p: float | None,
    top_k: int | None,
    max_output_tokens: int | None,
    stop: list[str],
    candidates: int | None,
    system: str | None,
) -> None:
    request = GenerateRequest(
        contents=prompt,
        temperature=temperature,
        top_p=top_p,
        top_k=top_k,
        max_output_tokens=max_output_tokens,
        stop_sequences=tuple(stop),
        candidate_count=candidates,
        system_instruction=system,
    )
    parsed = parse_strictly(generate_body(request), glm.GenerateContentRequest)
    assert parsed.contents[0].parts[0].text == prompt
    assert parsed.contents[0].role == "user"
