"""Synthetic stand-ins for Google's public sample tuning datasets in ``gs://cloud-samples-data``.

Vertex AI's tuning tutorials and SDK samples point at supervised tuning
files in Google's public bucket, so that a first tuning job needs no data
of one's own.  The emulator serves files at the same paths so those
tutorials run verbatim offline.  They are not Google's data: each is made
here, deterministically (the same bytes on every run and machine), from a
small synthetic task — summarize a generated three-sentence report in one
sentence — as valid Vertex supervised tuning JSONL (a system instruction,
one ``user`` turn, one ``model`` turn).  A training file holds
:data:`TRAINING_EXAMPLES` examples, a validation file
:data:`VALIDATION_EXAMPLES` others.

The bucket is read-only, as Google's is to everyone else: writes answer
403.  The objects are not records of the store (a reset or a snapshot does
not see them); their bytes are written to the object files on first read.
"""

from __future__ import annotations

import base64
import functools
import hashlib
import json
from dataclasses import dataclass

from tuneport_emulator.storage.records import StoredObject

__all__ = [
    "SAMPLES",
    "SAMPLES_BUCKET",
    "TRAINING_EXAMPLES",
    "VALIDATION_EXAMPLES",
    "SampleDataset",
    "sample",
    "sample_bytes",
    "sample_names",
    "sample_object",
]

#: Google's public bucket of samples.
SAMPLES_BUCKET = "cloud-samples-data"
#: Examples in each training file.
TRAINING_EXAMPLES = 500
#: Examples in each validation file (a fifth of the training file, under Vertex's 25% guidance).
VALIDATION_EXAMPLES = 100
#: When the sample objects were "created" (2024-01-01T00:00:00Z); their generation follows from it.
_CREATED = 1_704_067_200.0

_SYSTEM = "Summarize the report in one sentence."
_TEAMS = (
    "The river survey team",
    "The city library",
    "The night-shift nurses",
    "The harbour pilots",
    "The seed bank",
    "The volunteer firefighters",
    "The weather station",
    "The school orchestra",
    "The bicycle co-op",
    "The museum restorers",
    "The bakery collective",
    "The mountain rescue crew",
)
_DEEDS = (
    "mapped",
    "catalogued",
    "repaired",
    "inspected",
    "planted",
    "measured",
    "rehearsed",
    "rebuilt",
    "restored",
    "counted",
    "tested",
    "cleaned",
)
_THINGS = (
    "twelve footbridges",
    "four hundred old maps",
    "the east wing roof",
    "every signal buoy",
    "a field of rare barley",
    "the flood defences",
    "three tidal gauges",
    "a lost symphony",
    "sixty donated bicycles",
    "a medieval tapestry",
    "the stone ovens",
    "the avalanche beacons",
)
_RESULTS = (
    "ahead of schedule",
    "despite a week of storms",
    "with help from local students",
    "under budget",
    "after a month of planning",
    "for the first time in a decade",
)


@dataclass(frozen=True)
class SampleDataset:
    """One sample file: its object name, whether it trains or validates, and what it holds."""

    name: str
    role: str
    examples: int
    #: Index of its first example in the synthetic sequence (validation files do not repeat training).
    first: int

    @property
    def uri(self) -> str:
        return f"gs://{SAMPLES_BUCKET}/{self.name}"


def _pair(prefix: str) -> tuple[SampleDataset, SampleDataset]:
    return (
        SampleDataset(f"{prefix}sft_train_data.jsonl", "training", TRAINING_EXAMPLES, 0),
        SampleDataset(
            f"{prefix}sft_validation_data.jsonl", "validation", VALIDATION_EXAMPLES, TRAINING_EXAMPLES
        ),
    )


#: Every sample path the current Vertex tuning docs, SDK samples and google-genai's tests use:
#: ``gemini/text/`` (the REST and SDK samples of "Tune Gemini models with supervised fine-tuning"),
#: ``gemini-2_0/text/`` (the text tuning page's "Sample datasets"), ``gemini-1_5/text/`` (older
#: pages, google-genai's tests) and the bucket's top level (the Gemini 1.0 pages).
SAMPLES: tuple[SampleDataset, ...] = (
    *_pair("ai-platform/generative_ai/gemini/text/"),
    *_pair("ai-platform/generative_ai/gemini-2_0/text/"),
    *_pair("ai-platform/generative_ai/gemini-1_5/text/"),
    *_pair("ai-platform/generative_ai/"),
)
_BY_NAME = {dataset.name: dataset for dataset in SAMPLES}


def sample(name: str) -> SampleDataset | None:
    """The sample dataset stored under object ``name`` of the samples bucket, if any."""
    return _BY_NAME.get(name)


def sample_names() -> list[str]:
    """The object names of every sample, sorted."""
    return sorted(_BY_NAME)


def _example(index: int) -> dict[str, object]:
    team = _TEAMS[index % len(_TEAMS)]
    deed = _DEEDS[(index // len(_TEAMS)) % len(_DEEDS)]
    thing = _THINGS[(index * 7) % len(_THINGS)]
    result = _RESULTS[(index * 5) % len(_RESULTS)]
    number = 3 + index % 17
    report = (
        f"Report {index + 1}: {team} {deed} {thing} {result}. "
        f"The work took {number} days and involved {number * 4} people. "
        f"Everyone involved called it a success."
    )
    summary = f"{team} {deed} {thing} {result}, in {number} days."
    return {
        "systemInstruction": {"role": "system", "parts": [{"text": _SYSTEM}]},
        "contents": [
            {"role": "user", "parts": [{"text": report}]},
            {"role": "model", "parts": [{"text": summary}]},
        ],
    }


@functools.lru_cache(maxsize=len(SAMPLES))
def sample_bytes(name: str) -> bytes:
    """The JSONL content of a sample file (made once per process; always the same bytes)."""
    dataset = _BY_NAME[name]
    lines = (
        json.dumps(_example(i), ensure_ascii=False)
        for i in range(dataset.first, dataset.first + dataset.examples)
    )
    return ("\n".join(lines) + "\n").encode("utf-8")


def sample_key(name: str) -> str:
    """The object-file key of a sample (fixed: derived from its name)."""
    return hashlib.md5(f"{SAMPLES_BUCKET}/{name}".encode()).hexdigest()


@functools.lru_cache(maxsize=len(SAMPLES))
def sample_object(name: str) -> StoredObject | None:
    """The object record of a sample file, or None if ``name`` is not one."""
    if name not in _BY_NAME:
        return None
    data = sample_bytes(name)
    return StoredObject(
        bucket=SAMPLES_BUCKET,
        name=name,
        generation=int(_CREATED * 1_000_000),
        metageneration=1,
        content_type="application/jsonl",
        size=len(data),
        md5_hash=base64.b64encode(hashlib.md5(data).digest()).decode("ascii"),
        metadata=None,
        time_created=_CREATED,
        updated=_CREATED,
        file=sample_key(name),
    )
