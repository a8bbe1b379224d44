"""Every method's create body against Google's published types, and where they lag, against google-genai.

The protos of ``google-cloud-aiplatform`` 2.7.0 (a test dependency) parse
every field they have strictly (``ignore_unknown_fields=False``).  They lag
the service: they have no ``PreferenceOptimizationSpec`` at all, and their
v1beta1 ``DistillationSpec`` lacks ``promptDatasetUri``, ``tuningMode``,
``exportLastCheckpointOnly``, ``evaluationConfig`` and the ``batchSize`` /
``learningRate`` hyperparameters the discovery document lists.  Those parts,
and only those (:data:`LAGGING`), are compared with what google-genai 3.x
itself sends for the same job: its body is read from the emulator's request
log, and must hold the same fields, of the same kinds, as ours.
"""

from __future__ import annotations

import importlib.util
import json
import os
import re
import subprocess
import warnings
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tuneport.models import JobSpec
from tuneport_emulator import Emulator, EmulatorClock
from tuneport_vertex import VertexBackend, VertexSettings

with warnings.catch_warnings():
    warnings.simplefilter("ignore")  # api_core's Python-version FutureWarning
    # A test dependency (google-cloud-aiplatform): fail, never skip.
    from google.cloud import aiplatform_v1, aiplatform_v1beta1

from google.protobuf import json_format
from google.protobuf.descriptor import Descriptor, FieldDescriptor

ROOT = Path(__file__).resolve().parents[3]
SCRIPT = Path(__file__).resolve().parent / "clients" / "genai_methods.py"
BASE = "gemini-2.5-flash"
TEACHER = "gemini-3.1-pro"
BUCKET = "tuneport-fidelity"
PREFERENCE_URI = f"gs://{BUCKET}/preference.jsonl"
PROMPTS_URI = f"gs://{BUCKET}/prompts.jsonl"
EVALUATION_URI = f"gs://{BUCKET}/evaluation"
TUNED = "projects/my-project/locations/us-central1/models/123@1"

#: Request fields the protos of google-cloud-aiplatform 2.7.0 lack (vertex-today.md §1.6).
LAGGING = frozenset(
    {
        "preferenceOptimizationSpec",
        "distillationSpec.promptDatasetUri",
        "distillationSpec.tuningMode",
        "distillationSpec.exportLastCheckpointOnly",
        "distillationSpec.evaluationConfig",
        "distillationSpec.hyperParameters.batchSize",
        "distillationSpec.hyperParameters.learningRate",
    }
)
_EVALUATION = {
    "metrics": ["bleu", "exact_match"],
    "output_uri": EVALUATION_URI,
    "autorater_model": "gemini-2.5-pro",
    "sampling_count": 2,
}


def backend(**overrides: Any) -> VertexBackend:
    return VertexBackend(
        VertexSettings(
            project="my-project", endpoint="http://127.0.0.1:1", staging_bucket=f"gs://{BUCKET}", **overrides
        )
    )


def planned(spec: JobSpec) -> tuple[str, dict[str, Any]]:
    (request,) = backend().plan_create(spec)
    assert request.json is not None
    return request.url.split("/")[3], dict(request.json)


def split(
    body: dict[str, Any], descriptor: Descriptor, prefix: str = ""
) -> tuple[dict[str, Any], dict[str, Any]]:
    """(what *descriptor* has, path → value of what it lacks), recursing into messages."""
    fields = {f.json_name: f for f in descriptor.fields} | {f.name: f for f in descriptor.fields}
    known: dict[str, Any] = {}
    lacking: dict[str, Any] = {}
    for key, value in body.items():
        path = f"{prefix}{key}"
        field = fields.get(key)
        if field is None:
            lacking[path] = value
        elif field.type == FieldDescriptor.TYPE_MESSAGE and isinstance(value, dict) and not _is_map(field):
            known[key], deeper = split(value, field.message_type, f"{path}.")
            lacking.update(deeper)
        else:
            known[key] = value
    return known, lacking


def _is_map(field: FieldDescriptor) -> bool:
    return field.message_type.GetOptions().map_entry


def parse_strictly(body: dict[str, Any], message_type: Any) -> Any:
    message = message_type.pb()()
    json_format.ParseDict(body, message, ignore_unknown_fields=False)
    return message


def types_of(version: str) -> Any:
    return (aiplatform_v1 if version == "v1" else aiplatform_v1beta1).types


def checked(spec: JobSpec) -> tuple[str, dict[str, Any]]:
    """Parse *spec*'s body strictly where the protos have the fields: (version, path → lagging value)."""
    version, body = planned(spec)
    types = types_of(version)
    known, lacking = split(body, types.TuningJob.pb().DESCRIPTOR)
    parse_strictly(known, types.TuningJob)
    for path, value in lacking.items():
        assert path in LAGGING, f"{path} is in no proto of {version} and not a known lag"
        if path.endswith("evaluationConfig"):
            parse_strictly(value, types.EvaluationConfig)  # the message exists, only its place lags
    return version, lacking


# --- the protos --------------------------------------------------------------------------------------------


def test_supervised_bodies_parse_whole() -> None:
    for spec in (
        JobSpec(
            base_model=BASE,
            training_data=PREFERENCE_URI,
            validation_data=PROMPTS_URI,
            hyperparameters={"epoch_count": 2, "learning_rate_multiplier": 0.5, "adapter_size": 4},
            encryption_key="projects/p/locations/us-central1/keyRings/r/cryptoKeys/k",
            service_account="tuner@my-project.iam.gserviceaccount.com",
            evaluation={**_EVALUATION, "metrics": ["rouge_l", "instruction_following_v1", {"bleuSpec": {}}]},
            labels={"team": "ml"},
            extras={"export_last_checkpoint_only": True},
        ),
        JobSpec(base_model=BASE, tuned_model=TUNED, checkpoint="2", training_data=PREFERENCE_URI),
        JobSpec(
            base_model="qwen/qwen3-5@qwen3.5-9b",
            training_data=PREFERENCE_URI,
            tuning_mode="full",
            output_uri=f"gs://{BUCKET}/out",
            custom_base_model=f"gs://{BUCKET}/weights",
            hyperparameters={"epoch_count": 1, "batch_size": 8, "learning_rate": 0.0002},
        ),
    ):
        _, lacking = checked(spec)
        assert lacking == {}


def test_preference_bodies_lag_only_in_their_spec() -> None:
    version, lacking = checked(
        JobSpec(
            base_model=BASE,
            method="preference",
            training_data=PREFERENCE_URI,
            tuned_model=TUNED,
            hyperparameters={"beta": 0.1, "epoch_count": 1},
            evaluation=_EVALUATION,
        )
    )
    assert version == "v1"
    assert set(lacking) == {"preferenceOptimizationSpec"}
    # Its evaluationConfig is the supervised one's message, in another place.
    parse_strictly(
        lacking["preferenceOptimizationSpec"]["evaluationConfig"], aiplatform_v1.types.EvaluationConfig
    )


def test_distillation_bodies_lag_only_where_the_v1beta1_proto_does() -> None:
    version, lacking = checked(
        JobSpec(
            base_model=BASE,
            method="distillation",
            teacher_model=TEACHER,
            training_data=PROMPTS_URI,
            tuning_mode="adapter",
            evaluation=_EVALUATION,
            extras={"export_last_checkpoint_only": False},
        )
    )
    assert version == "v1beta1"
    assert set(lacking) == {
        "distillationSpec.promptDatasetUri",
        "distillationSpec.tuningMode",
        "distillationSpec.exportLastCheckpointOnly",
        "distillationSpec.evaluationConfig",
    }


_KEY = "projects/p/locations/us-central1/keyRings/r/cryptoKeys/k"
_METRIC_NAMES = st.sampled_from(["bleu", "rouge_l", "rouge_lsum", "rouge_3", "exact_match", "coherence"])


@st.composite
def method_specs(draw: st.DrawFn) -> JobSpec:
    """Any job the vertex backend accepts, of any method, with any of the optional fields."""
    method = draw(st.sampled_from(["supervised", "preference", "distillation"]))
    open_model = method == "supervised" and draw(st.booleans())
    fields: dict[str, Any] = {
        "base_model": "google/gemma3@gemma-3-4b-it" if open_model else BASE,
        "method": method,
        "training_data": PROMPTS_URI,
    }
    hyper = {"epoch_count": st.integers(1, 20), "learning_rate_multiplier": st.floats(0.01, 10.0)}
    hyper["adapter_size"] = st.sampled_from([1, 2, 4, 8, 16])
    if method == "preference":
        hyper["beta"] = st.floats(0.0, 5.0)
    elif open_model or method == "distillation":
        hyper["batch_size"] = st.integers(1, 64)
        hyper["learning_rate"] = st.floats(1e-6, 0.1)
    fields["hyperparameters"] = draw(st.fixed_dictionaries({}, optional=hyper))
    if method == "distillation":
        fields["teacher_model"] = draw(st.sampled_from([TEACHER, TUNED]))
    if method != "preference" and draw(st.booleans()):
        fields["tuning_mode"] = "full" if open_model and draw(st.booleans()) else "adapter"
    if open_model:
        fields["output_uri"] = f"gs://{BUCKET}/out"
        if draw(st.booleans()):
            fields["custom_base_model"] = f"gs://{BUCKET}/weights"
    if draw(st.booleans()):
        fields["tuned_model"] = TUNED
        if draw(st.booleans()):
            fields["checkpoint"] = draw(st.sampled_from(["1", "2", "10"]))
    if draw(st.booleans()):
        fields["validation_data"] = PREFERENCE_URI
    if draw(st.booleans()):
        fields["evaluation"] = {
            "metrics": draw(st.lists(_METRIC_NAMES, min_size=1, max_size=4)),
            "output_uri": EVALUATION_URI,
            "sampling_count": draw(st.none() | st.integers(1, 32)),
            "flip_enabled": draw(st.none() | st.booleans()),
        }
    for name, value in (
        ("encryption_key", _KEY),
        ("service_account", "t@my-project.iam.gserviceaccount.com"),
    ):
        if draw(st.booleans()):
            fields[name] = value
    if draw(st.booleans()):
        fields["extras"] = {"export_last_checkpoint_only": draw(st.booleans())}
    return JobSpec.model_validate(fields)


@settings(max_examples=120, suppress_health_check=[HealthCheck.too_slow])
@given(spec=method_specs())
def test_every_methods_body_parses_where_the_protos_have_its_fields(spec: JobSpec) -> None:
    version, lacking = checked(spec)
    assert version == ("v1" if spec.method != "distillation" and not _needs_beta(spec) else "v1beta1")
    if spec.method == "preference":
        assert set(lacking) == {"preferenceOptimizationSpec"}


def _needs_beta(spec: JobSpec) -> bool:
    given = spec.hyperparameters.given()
    return bool(
        spec.tuning_mode
        or spec.output_uri
        or spec.custom_base_model
        or {"batch_size", "learning_rate"} & set(given)
    )


# --- google-genai, for what the protos lack ----------------------------------------------------------


def _env_module() -> ModuleType:
    spec = importlib.util.spec_from_file_location("genai3_env", ROOT / "scripts" / "genai3_env.py")
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def genai3_python() -> Path:
    """The google-genai 3.x interpreter (made once by scripts/genai3_env.py); the test fails without it."""
    env = _env_module()
    try:
        python: Path = env.ensure()
    except env.EnvironmentNotMade as exc:
        pytest.fail(f"google-genai {env.GENAI3_VERSION} environment could not be made: {exc}", pytrace=False)
    return python


def _user(text: str) -> dict[str, Any]:
    return {"role": "user", "parts": [{"text": text}]}


def _model(text: str) -> dict[str, Any]:
    return {"role": "model", "parts": [{"text": text}]}


def _jsonl(rows: list[dict[str, Any]]) -> bytes:
    return "".join(json.dumps(row) + "\n" for row in rows).encode()


@pytest.fixture(scope="module")
def genai_bodies(genai3_python: Path) -> dict[str, dict[str, Any]]:
    """What google-genai 3.x sends for a preference and a distillation job (from the emulator's log)."""
    pairs = [("1", "2"), ("3", "4"), ("IV", "V")]
    preference = [
        {
            "contents": [_user(i)],
            "completions": [{"completion": _model(o), "score": 1}, {"completion": _model("0"), "score": 0}],
        }
        for i, o in pairs
    ]
    with Emulator(clock=EmulatorClock.manual()) as emulator:
        emulator.put_storage_object(BUCKET, "preference.jsonl", _jsonl(preference))
        emulator.put_storage_object(
            BUCKET, "prompts.jsonl", _jsonl([{"contents": [_user(i)]} for i, _ in pairs])
        )
        args = {"preference": PREFERENCE_URI, "prompts": PROMPTS_URI, "evaluation": EVALUATION_URI}
        environment = {k: v for k, v in os.environ.items() if not k.startswith(("GOOGLE_", "GEMINI_"))}
        done = subprocess.run(
            [str(genai3_python), str(SCRIPT), emulator.url, json.dumps(args)],
            check=False,
            capture_output=True,
            text=True,
            timeout=180,
            env={**environment, "PYTHONWARNINGS": "ignore"},
        )
        assert done.returncode == 0, done.stderr
        outcome = json.loads(done.stdout.strip().splitlines()[-1])
        assert all("name" in job for job in outcome.values()), outcome  # the emulator took both
        creates = [
            e["body"]
            for e in emulator.requests()
            if e["method"] == "POST" and e["path"].endswith("/tuningJobs")
        ]
    bodies = {"preference": creates[0], "distillation": creates[1]}
    assert "preferenceOptimizationSpec" in bodies["preference"]
    assert "distillationSpec" in bodies["distillation"]
    return bodies


def _camel(key: str) -> str:
    return re.sub(r"_([a-z])", lambda m: m.group(1).upper(), key)


def shape(value: Any, prefix: str = "") -> set[str]:
    """Every ``path:kind`` of a JSON value (camelCase keys, list items merged, labels left out)."""
    if isinstance(value, dict):
        paths = {f"{prefix}:object"} if prefix else set()
        for key, item in value.items():
            if key == "labels" and not prefix:
                continue
            paths |= shape(item, f"{prefix}.{_camel(key)}" if prefix else _camel(key))
        return paths
    if isinstance(value, list):
        paths = {f"{prefix}:list"}
        for item in value:
            paths |= shape(item, f"{prefix}[]")
        return paths
    kind = (
        "bool"
        if isinstance(value, bool)
        else "number"
        if isinstance(value, (int, float))
        else type(value).__name__
    )
    return {f"{prefix}:{kind}"}


_SAME_JOB = {
    "base_model": BASE,
    "display_name": "methods",
    "description": "one job of each method",
    "hyperparameters": {"epoch_count": 1, "learning_rate_multiplier": 0.5, "adapter_size": 4},
    "evaluation": _EVALUATION,
    "extras": {"export_last_checkpoint_only": True},
}


@pytest.mark.parametrize("method", ["preference", "distillation"])
def test_what_the_protos_lack_is_what_google_genai_sends(
    method: str, genai_bodies: dict[str, dict[str, Any]]
) -> None:
    if method == "preference":
        spec = JobSpec.model_validate(
            {
                **_SAME_JOB,
                "method": method,
                "training_data": PREFERENCE_URI,
                "hyperparameters": {**_SAME_JOB["hyperparameters"], "beta": 0.1},
            }
        )
    else:
        spec = JobSpec.model_validate(
            {
                **_SAME_JOB,
                "method": method,
                "training_data": PROMPTS_URI,
                "validation_data": PROMPTS_URI,
                "teacher_model": TEACHER,
                "tuning_mode": "adapter",
            }
        )
    _, ours = planned(spec)
    theirs = genai_bodies[method]
    assert shape(ours) == shape(theirs)
    _, lacking = checked(spec)
    for path, value in lacking.items():
        # The lagging fields, value for value (google-genai asks for one more aggregation per metric).
        node: Any = theirs
        for key in path.split("."):
            node = node[key]
        if not path.endswith("evaluationConfig") and path != "preferenceOptimizationSpec":
            assert node == value, path
