"""The neutral dataset layer: read, write, validate, convert and measure tuning datasets.

An example is a list of turns (an optional system instruction, then
user/model turns of text and file parts): :class:`~tuneport.models.Example`.
Three formats are read and written, streaming in constant memory:

* ``gemini`` — Gemini API ``{text_input, output}`` pairs (JSONL, JSON array, CSV);
* ``vertex`` — Vertex AI supervised tuning JSONL (``systemInstruction`` + ``contents``);
* ``openai`` — OpenAI chat fine-tuning JSONL (``messages``).

    >>> from tuneport.datasets import validate_dataset, convert_dataset
    >>> report = validate_dataset("train.jsonl")                    # doctest: +SKIP
    >>> for problem in report.problems: print(problem)              # doctest: +SKIP
    >>> convert_dataset("train.jsonl", "pairs.jsonl", to="gemini", policy="split")  # doctest: +SKIP

See docs/datasets.md for every rule, the conversion matrix and the token estimate.
"""

from __future__ import annotations

from tuneport.datasets.conversion import ConversionPolicy, ConversionReport, convert_dataset
from tuneport.datasets.detect import detect_format
from tuneport.datasets.formats import DatasetFormat, FileLayout
from tuneport.datasets.limits import DatasetLimits, DatasetRole
from tuneport.datasets.reading import ExampleRecord, read_examples, read_records
from tuneport.datasets.rules import Rule, Severity
from tuneport.datasets.sources import DatasetSource
from tuneport.datasets.stats import DatasetStats, Distribution, dataset_stats
from tuneport.datasets.tokens import estimate_tokens
from tuneport.datasets.validation import DatasetReport, validate_dataset
from tuneport.datasets.writing import write_examples
from tuneport.models import Example, FilePart, Part, TextPart, Turn

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
    "Part",
    "Rule",
    "Severity",
    "TextPart",
    "Turn",
    "convert_dataset",
    "dataset_stats",
    "detect_format",
    "estimate_tokens",
    "read_examples",
    "read_records",
    "validate_dataset",
    "write_examples",
]
