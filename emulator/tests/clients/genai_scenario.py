"""google-genai, unmodified, through a tuning lifecycle against an emulator; run in any environment.

    python genai_scenario.py vertex URL '{"train": "gs://…"}'
    python genai_scenario.py gemini URL '{"running": "tunedModels/…"}'

The same file runs under the development environment's google-genai 2.x and
under the 3.x of the second environment (``scripts/genai3_env.py``), which
holds google-genai and nothing of this project: it imports only the client.
It prints one JSON object of what the client saw (states, names, texts,
the errors it raised); the test asserts on it and on the emulator's log.
An unexpected exception ends it with a traceback and exit status 1.
"""

from __future__ import annotations

import asyncio
import json
import os
import sys
import time
from collections.abc import Callable
from typing import Any

from google import genai
from google.genai import errors, types

PROJECT, LOCATION = "p", "us-central1"
POLL, TIMEOUT = 0.05, 30.0


def _error(call: Callable[[], Any]) -> dict[str, Any]:
    """What ``call`` raised: an API error's code and status, or a client-side refusal's type."""
    try:
        call()
    except errors.APIError as exc:
        return {"code": exc.code, "status": exc.status}
    except ValueError as exc:
        return {"client_side": type(exc).__name__, "message": str(exc)}
    return {"code": 200}


def _wait(get: Callable[[], Any]) -> tuple[Any, list[str]]:
    """Poll ``get`` until the job has ended; the job and the distinct states seen, in order."""
    deadline = time.monotonic() + TIMEOUT
    seen: list[str] = []
    while True:
        job = get()
        if not seen or seen[-1] != job.state.name:
            seen.append(job.state.name)
        if job.has_ended:
            return job, seen
        if time.monotonic() > deadline:
            raise TimeoutError(f"the job never ended; states seen: {seen}")
        time.sleep(POLL)


async def _async_reads(client: genai.Client, job: str, model: str) -> dict[str, Any]:
    """The same reads through the client's async transport (``client.aio``)."""
    got = await client.aio.tunings.get(name=job)
    answer = await client.aio.models.generate_content(model=model, contents="IV")
    return {"state": got.state.name, "generated": answer.text}


def vertex(url: str, args: dict[str, Any]) -> dict[str, Any]:
    """Vertex mode: tune from Cloud Storage, wait, generate, list, cancel, read and delete the model."""
    from google.oauth2.credentials import Credentials

    client = genai.Client(
        vertexai=True,
        project=PROJECT,
        location=LOCATION,
        credentials=Credentials(token="t"),  # type: ignore[no-untyped-call]
        http_options=types.HttpOptions(base_url=url),
    )
    dataset = types.TuningDataset(gcs_uri=args["train"])
    job = client.tunings.tune(
        base_model="gemini-2.0-flash-001",
        training_dataset=dataset,
        config=types.CreateTuningJobConfig(
            epoch_count=2,
            tuned_model_display_name="numbers",
            adapter_size="ADAPTER_SIZE_FOUR",
            labels={"team": "x"},
        ),
    )
    seen: dict[str, Any] = {"version": genai.__version__, "created": job.name, "first_state": job.state.name}
    done, states = _wait(lambda: client.tunings.get(name=job.name))
    stats = done.tuning_data_stats.supervised_tuning_data_stats
    seen["done"] = {
        "states": states,
        "model": done.tuned_model.model,
        "endpoint": done.tuned_model.endpoint,
        "examples": stats.tuning_dataset_example_count,
        "epochs": done.supervised_tuning_spec.hyper_parameters.epoch_count,
        "experiment": done.experiment,
        "labels": done.labels,
    }
    endpoint = done.tuned_model.endpoint
    seen["generated"] = client.models.generate_content(model=endpoint, contents="IV").text
    seen["streamed"] = "".join(
        chunk.text or "" for chunk in client.models.generate_content_stream(model=endpoint, contents="3")
    )
    seen["async"] = asyncio.run(_async_reads(client, job.name, endpoint))
    model = client.models.get(model=done.tuned_model.model)
    seen["model"] = {
        "name": model.name,
        "display_name": model.display_name,
        "base_model": model.tuned_model_info.base_model,  # read from the model's labels
    }
    seen["tuned_models"] = [m.name for m in client.models.list(config={"query_base": False})]
    os.environ["GOOGLE_VERTEX_BASE_URL"] = url  # the other way to point the client at a server
    by_environment = genai.Client(
        vertexai=True,
        project=PROJECT,
        location=LOCATION,
        credentials=Credentials(token="t"),  # type: ignore[no-untyped-call]
    )
    seen["via_environment"] = by_environment.tunings.get(name=job.name).name

    second = client.tunings.tune(
        base_model="gemini-2.5-flash",
        training_dataset=dataset,
        config=types.CreateTuningJobConfig(epoch_count=100),
    )
    client.tunings.cancel(name=second.name)
    cancelled, states = _wait(lambda: client.tunings.get(name=second.name))
    seen["cancelled"] = {"name": second.name, "states": states, "error_code": cancelled.error.code}
    seen["listed"] = [j.name for j in client.tunings.list()]
    seen["listed_paged"] = [j.name for j in client.tunings.list(config={"page_size": 1})]
    succeeded = client.tunings.list(config={"filter": 'state="JOB_STATE_SUCCEEDED"'})
    seen["listed_succeeded"] = [j.name for j in succeeded]
    seen["cancel_ended"] = _error(lambda: client.tunings.cancel(name=job.name))
    seen["delete_deployed_model"] = _error(lambda: client.models.delete(model=done.tuned_model.model))
    return seen


def gemini(url: str, args: dict[str, Any]) -> dict[str, Any]:
    """Gemini API mode: what the client can do with a tuned model, at its default version and at v1beta."""
    default = genai.Client(api_key="k", http_options=types.HttpOptions(base_url=url))
    beta = genai.Client(api_key="k", http_options=types.HttpOptions(base_url=url, api_version="v1beta"))
    name = args["running"]
    examples = [types.TuningExample(text_input="IV", output="V")]

    def tune(client: genai.Client) -> Any:
        return client.tunings.tune(
            base_model="models/gemini-1.5-flash-001-tuning",
            training_dataset=types.TuningDataset(examples=examples),
            config=types.CreateTuningJobConfig(epoch_count=1, tuned_model_display_name="n"),
        )

    seen: dict[str, Any] = {"version": genai.__version__}
    seen["tune_default"] = _error(lambda: tune(default))
    seen["tune_v1beta"] = _error(lambda: tune(beta))
    done, states = _wait(lambda: beta.tunings.get(name=name))
    seen["done"] = {"states": states, "model": done.tuned_model.model, "base_model": done.base_model}
    seen["get_default"] = _error(lambda: default.tunings.get(name=name))
    seen["list_jobs"] = _error(lambda: list(beta.tunings.list()))
    model = beta.models.get(model=name)
    seen["model"] = {"name": model.name, "base_model": model.tuned_model_info.base_model}
    seen["tuned_models"] = [m.name for m in beta.models.list(config={"query_base": False})]
    seen["updated"] = beta.models.update(model=name, config={"description": "counts"}).description
    seen["generated"] = {
        "default": default.models.generate_content(model=name, contents="IV").text,
        "v1beta": beta.models.generate_content(model=name, contents="IV").text,
    }
    seen["streamed"] = "".join(
        chunk.text or "" for chunk in default.models.generate_content_stream(model=name, contents="IV")
    )
    seen["async"] = asyncio.run(_async_reads(beta, name, name))
    os.environ["GOOGLE_GEMINI_BASE_URL"] = url  # the other way to point the client at a server
    by_environment = genai.Client(api_key="k", http_options=types.HttpOptions(api_version="v1beta"))
    seen["via_environment"] = by_environment.models.get(model=name).name
    seen["cancel"] = _error(lambda: beta.tunings.cancel(name=name))
    beta.models.delete(model=name)
    seen["get_deleted"] = _error(lambda: beta.tunings.get(name=name))
    return seen


SCENARIOS: dict[str, Callable[[str, dict[str, Any]], dict[str, Any]]] = {"vertex": vertex, "gemini": gemini}

if __name__ == "__main__":
    mode, base_url, raw = sys.argv[1], sys.argv[2], sys.argv[3]
    print(json.dumps(SCENARIOS[mode](base_url, json.loads(raw))))
