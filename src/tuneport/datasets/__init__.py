"""The neutral dataset layer: read, write, validate, convert and measure tuning datasets.

An example is a list of turns (an optional system instruction, then
user/model turns of text and file parts): :class:`~tuneport.models.Example`.
These formats are read and written, streaming in constant memory:

* ``gemini`` — Gemini API ``{text_input, output}`` pairs (JSONL, JSON array, CSV);
* ``vertex`` — Vertex AI supervised tuning JSONL (``systemInstruction`` + ``contents``);
* ``openai`` — OpenAI chat fine-tuning JSONL (``messages``);
* ``neutral`` — the models as JSON.

Preference tuning's data (:class:`~tuneport.models.PreferenceExample`: Vertex
``completions``, OpenAI DPO, ``prompt``/``chosen``/``rejected`` as format
``trl``, neutral) and distillation's prompts (:class:`~tuneport.models.PromptExample`)
go through the same functions with ``method="preference"`` or ``"distillation"``.

    >>> from tuneport.datasets import validate_dataset, convert_dataset
    >>> report = validate_dataset("train.jsonl")                    # doctest: +SKIP
    >>> for problem in report.problems: print(problem)              # doctest: +SKIP
    >>> convert_dataset("train.jsonl", "pairs.jsonl", to="gemini", policy="split")  # doctest: +SKIP

Every function takes ``codec=``: the JSON library to use, as a :class:`JsonCodec`
(``JsonCodec.fastest()``, the default, or ``JsonCodec.stdlib()``).

See docs/datasets.md for every rule, the conversion matrix and the token estimate.
"""

from __future__ import annotations

import importlib

# Names load on first access (PEP 562): the catalog needs only DatasetLimits,
# and `import tuneport.datasets` should not pay for every reader and writer.
TYPE_CHECKING = False
if TYPE_CHECKING:
    from tuneport.datasets.formats import DatasetFormat, FileLayout
    from tuneport.datasets.json_codecs import JsonCodec
    from tuneport.datasets.layouts import detect_format, detect_method
    from tuneport.datasets.limits import DatasetLimits, DatasetRole
    from tuneport.datasets.measure import estimate_example_tokens, estimate_tokens
    from tuneport.datasets.problems import Rule, Severity
    from tuneport.datasets.reading import (
        ExampleRecord,
        read_examples,
        read_preference_examples,
        read_prompt_examples,
        read_records,
    )
    from tuneport.datasets.sources import DatasetSource
    from tuneport.datasets.stats import DatasetStats, Distribution, dataset_stats
    from tuneport.datasets.validation import DatasetReport, validate_dataset
    from tuneport.datasets.writing import (
        ConversionPolicy,
        ConversionReport,
        SystemHandling,
        convert_dataset,
        write_examples,
    )
    from tuneport.models import (
        Example,
        FilePart,
        Part,
        PreferenceExample,
        PromptExample,
        TextPart,
        TuningMethod,
        Turn,
    )

_LAZY: dict[str, str] = {
    "ConversionPolicy": "tuneport.datasets.writing",
    "ConversionReport": "tuneport.datasets.writing",
    "DatasetFormat": "tuneport.datasets.formats",
    "DatasetLimits": "tuneport.datasets.limits",
    "DatasetReport": "tuneport.datasets.validation",
    "DatasetRole": "tuneport.datasets.limits",
    "DatasetSource": "tuneport.datasets.sources",
    "DatasetStats": "tuneport.datasets.stats",
    "Distribution": "tuneport.datasets.stats",
    "Example": "tuneport.models",
    "ExampleRecord": "tuneport.datasets.reading",
    "FileLayout": "tuneport.datasets.formats",
    "FilePart": "tuneport.models",
    "JsonCodec": "tuneport.datasets.json_codecs",
    "Part": "tuneport.models",
    "PreferenceExample": "tuneport.models",
    "PromptExample": "tuneport.models",
    "Rule": "tuneport.datasets.problems",
    "Severity": "tuneport.datasets.problems",
    "SystemHandling": "tuneport.datasets.writing",
    "TextPart": "tuneport.models",
    "TuningMethod": "tuneport.models",
    "Turn": "tuneport.models",
    "convert_dataset": "tuneport.datasets.writing",
    "dataset_stats": "tuneport.datasets.stats",
    "detect_format": "tuneport.datasets.layouts",
    "detect_method": "tuneport.datasets.layouts",
    "estimate_example_tokens": "tuneport.datasets.measure",
    "estimate_tokens": "tuneport.datasets.measure",
    "read_examples": "tuneport.datasets.reading",
    "read_preference_examples": "tuneport.datasets.reading",
    "read_prompt_examples": "tuneport.datasets.reading",
    "read_records": "tuneport.datasets.reading",
    "validate_dataset": "tuneport.datasets.validation",
    "write_examples": "tuneport.datasets.writing",
}


def __getattr__(name: str) -> object:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'tuneport.datasets' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(__all__)


__all__ = [
    "ConversionPolicy",
    "ConversionReport",
    "DatasetFormat",
    "DatasetLimits",
    "DatasetReport",
    "DatasetRole",
    "DatasetSource",
    "DatasetStats",
    "Distribution",
    "Example",
    "ExampleRecord",
    "FileLayout",
    "FilePart",
    "JsonCodec",
    "Part",
    "PreferenceExample",
    "PromptExample",
    "Rule",
    "Severity",
    "SystemHandling",
    "TextPart",
    "TuningMethod",
    "Turn",
    "convert_dataset",
    "dataset_stats",
    "detect_format",
    "detect_method",
    "estimate_example_tokens",
    "estimate_tokens",
    "read_examples",
    "read_preference_examples",
    "read_prompt_examples",
    "read_records",
    "validate_dataset",
    "write_examples",
]
