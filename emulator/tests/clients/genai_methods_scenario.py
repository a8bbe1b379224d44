"""google-genai, unmodified, tuning with the methods of #16 against an emulator (Vertex mode).

    python genai_methods_scenario.py URL '{"train": "gs://…", "preference": "gs://…", "prompts": "gs://…"}'

Google's DPO recipe (supervised tuning, then preference tuning continued from
a checkpoint of it), a distillation from a base teacher, and
``models.update`` of the default checkpoint.  Runs under the development
environment's google-genai 2.x and the 3.x of ``.cache/genai3-venv``; imports
only the client.  Prints one JSON object of what the client saw.
"""

from __future__ import annotations

import json
import sys
import time
from collections.abc import Callable
from typing import Any

from google import genai
from google.genai import types

PROJECT, LOCATION = "p", "us-central1"
POLL, TIMEOUT = 0.05, 60.0


def _wait(get: Callable[[], Any]) -> Any:
    deadline = time.monotonic() + TIMEOUT
    while True:
        job = get()
        if job.has_ended:
            return job
        if time.monotonic() > deadline:
            raise TimeoutError(f"the job never ended: {job.state}")
        time.sleep(POLL)


def _checkpoints(job: Any) -> list[dict[str, Any]]:
    return [
        {"id": c.checkpoint_id, "epoch": c.epoch, "step": c.step, "endpoint": c.endpoint}
        for c in job.tuned_model.checkpoints or []
    ]


def main(url: str, args: dict[str, Any]) -> dict[str, Any]:
    """Tune, continue, distill, and set a default checkpoint; what the client saw."""
    from google.oauth2.credentials import Credentials

    client = genai.Client(
        vertexai=True,
        project=PROJECT,
        location=LOCATION,
        credentials=Credentials(token="t"),  # type: ignore[no-untyped-call]
        http_options=types.HttpOptions(base_url=url),
    )
    seen: dict[str, Any] = {"version": genai.__version__}
    sft = client.tunings.tune(
        base_model="gemini-2.5-flash",
        training_dataset=types.TuningDataset(gcs_uri=args["train"]),
        config=types.CreateTuningJobConfig(epoch_count=2),
    )
    sft = _wait(lambda: client.tunings.get(name=sft.name))
    seen["sft"] = {"state": sft.state.name, "checkpoints": _checkpoints(sft)}

    preference = client.tunings.tune(
        base_model=sft.tuned_model.model,  # a tuned model: continuous tuning (preTunedModel)
        training_dataset=types.TuningDataset(gcs_uri=args["preference"]),
        config=types.CreateTuningJobConfig(
            method="PREFERENCE_TUNING",
            beta=0.1,
            epoch_count=1,
            adapter_size="ADAPTER_SIZE_FOUR",
            pre_tuned_model_checkpoint_id="1",
            tuned_model_display_name="numbers-dpo",
            evaluation_config=types.EvaluationConfig(
                metrics=[types.Metric(name="exact_match"), types.Metric(name="rouge_l")],
                output_config=types.OutputConfig(
                    gcs_destination=types.GcsDestination(output_uri_prefix=args["evaluation"])
                ),
                autorater_config=types.AutoraterConfig(sampling_count=2),
            ),
        ),
    )
    preference = _wait(lambda: client.tunings.get(name=preference.name))
    stats = preference.tuning_data_stats.preference_optimization_data_stats
    seen["preference"] = {
        "state": preference.state.name,
        "pre_tuned": {
            "model": preference.pre_tuned_model.tuned_model_name,
            "checkpoint": preference.pre_tuned_model.checkpoint_id,
            "base": preference.pre_tuned_model.base_model,
        },
        "beta": preference.preference_optimization_spec.hyper_parameters.beta,
        "examples": stats.tuning_dataset_example_count,
        "billable_tokens": stats.total_billable_token_count,
        "checkpoints": _checkpoints(preference),
        "evaluations": [
            {
                "checkpoint": run.checkpoint_id,
                "run": run.evaluation_run,
                "results": [
                    {
                        "aggregation": r.aggregation_metric,
                        "exact_match": r.exact_match_metric_value.score
                        if r.exact_match_metric_value
                        else None,
                        "rouge": r.rouge_metric_value.score if r.rouge_metric_value else None,
                    }
                    for r in run.evaluate_dataset_response.aggregation_output.aggregation_results
                ],
            }
            for run in preference.evaluate_dataset_runs or []
        ],
        "generated": client.models.generate_content(
            model=preference.tuned_model.endpoint, contents="IV"
        ).text,
    }

    distilled = client.tunings.tune(
        base_model="gemini-2.5-flash",
        training_dataset=types.TuningDataset(gcs_uri=args["prompts"]),
        config=types.CreateTuningJobConfig(
            method="DISTILLATION",
            base_teacher_model="gemini-3.1-pro",
            epoch_count=3,
            learning_rate_multiplier=1.0,
            sft_loss_weight_multiplier=0.5,
        ),
    )
    distilled = _wait(lambda: client.tunings.get(name=distilled.name))
    checkpoints = _checkpoints(distilled)
    seen["distillation"] = {
        "state": distilled.state.name,
        "teacher": distilled.distillation_spec.base_teacher_model,
        "checkpoints": checkpoints,
        "first_checkpoint_answers": client.models.generate_content(
            model=checkpoints[0]["endpoint"], contents="IV"
        ).text,
    }

    model = sft.tuned_model.model
    updated = client.models.update(model=model, config={"default_checkpoint_id": "1"})
    seen["updated_default"] = updated.default_checkpoint_id
    seen["read_default"] = client.models.get(model=model).default_checkpoint_id
    return seen


if __name__ == "__main__":
    print(json.dumps(main(sys.argv[1], json.loads(sys.argv[2]))))
