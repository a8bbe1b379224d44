"""google-genai 3.x, unmodified, creating one tuning job of each method against an emulator.

    python genai_methods.py URL '{"preference": "gs://…", "prompts": "gs://…", "validation": "gs://…", …}'

Run by ``test_wire_fidelity_methods.py`` with the interpreter of the google-genai
3.x environment (``scripts/genai3_env.py``); it imports only the client.  The
bodies it sends are read from the emulator's request log and compared with the
vertex backend's for the same jobs.  It prints one JSON object: per job, the
error the client raised, if any (the body is in the log either way).
"""

from __future__ import annotations

import json
import sys
from typing import Any

from google import genai
from google.genai import errors, types

PROJECT, LOCATION = "p", "us-central1"


def _evaluation(output: str) -> types.EvaluationConfig:
    return types.EvaluationConfig(
        metrics=[types.Metric(name="bleu"), types.Metric(name="exact_match")],
        output_config=types.OutputConfig(gcs_destination=types.GcsDestination(output_uri_prefix=output)),
        autorater_config=types.AutoraterConfig(autorater_model="gemini-2.5-pro", sampling_count=2),
    )


def main(url: str, args: dict[str, Any]) -> dict[str, Any]:
    from google.oauth2.credentials import Credentials

    client = genai.Client(
        vertexai=True,
        project=PROJECT,
        location=LOCATION,
        credentials=Credentials(token="t"),  # type: ignore[no-untyped-call]
        http_options=types.HttpOptions(base_url=url, api_version="v1beta1"),
    )
    common: dict[str, Any] = {
        "epoch_count": 1,
        "learning_rate_multiplier": 0.5,
        "adapter_size": "ADAPTER_SIZE_FOUR",
        "export_last_checkpoint_only": True,
        "tuned_model_display_name": "methods",
        "description": "one job of each method",
        "evaluation_config": _evaluation(args["evaluation"]),
    }
    jobs = {
        "preference": (
            args["preference"],
            types.CreateTuningJobConfig(method="PREFERENCE_TUNING", beta=0.1, **common),
        ),
        "distillation": (
            args["prompts"],
            types.CreateTuningJobConfig(
                method="DISTILLATION",
                base_teacher_model="gemini-3.1-pro",
                tuning_mode="TUNING_MODE_PEFT_ADAPTER",
                validation_dataset=types.TuningValidationDataset(gcs_uri=args["prompts"]),
                **common,
            ),
        ),
    }
    seen: dict[str, Any] = {}
    for name, (uri, config) in jobs.items():
        try:
            job = client.tunings.tune(
                base_model="gemini-2.5-flash",
                training_dataset=types.TuningDataset(gcs_uri=uri),
                config=config,
            )
        except errors.APIError as exc:
            seen[name] = {"code": exc.code, "message": exc.message}
        else:
            seen[name] = {"name": job.name}
    return seen


if __name__ == "__main__":
    print(json.dumps(main(sys.argv[1], json.loads(sys.argv[2]))))
