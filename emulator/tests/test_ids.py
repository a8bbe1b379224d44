"""Reproducible ids: the tokens a seed hands out do not change from one release to the next."""

from __future__ import annotations

import hashlib

import pytest

from tuneport_emulator.ids import DIGITS, LOWER_ALNUM, derive_token


def _digit_by_digit(material: str, length: int, alphabet: str) -> str:
    """The definition: the SHA-256 as a number, in base len(alphabet), least significant digit first."""
    value = int.from_bytes(hashlib.sha256(material.encode("utf-8")).digest(), "big")
    chars = []
    for _ in range(length):
        value, index = divmod(value, len(alphabet))
        chars.append(alphabet[index])
    return "".join(chars)


@pytest.mark.parametrize(
    ("material", "length", "alphabet", "token"),
    [
        # Known values (state files and tests' expected names hold ids like these).
        ("tuneport/vertex.tuningJob/1", 19, DIGITS, "4555084082739915643"),
        ("tuneport/gemini.operation/1", 12, LOWER_ALNUM, "240eh5fso3zh"),
        ("tuneport/gemini.tunedModelId/3", 5, LOWER_ALNUM, "24v0m"),
        # Longer than the hash's digits: the rest is zeros.
        (
            "x",
            90,
            DIGITS,
            "562519371477394482204125987273537603189413208676651722100742911136145588355020000000000000",
        ),
        ("x", 60, "ab", "baaaaaabaaabaabaababbaaaabaabaabbbbabaaabbbaaaabbabaabaaabaa"),
    ],
)
def test_known_tokens(material: str, length: int, alphabet: str, token: str) -> None:
    assert derive_token(material, length, alphabet) == token


@pytest.mark.parametrize("alphabet", [DIGITS, LOWER_ALNUM, "ab", "0123456789abcdef"])
@pytest.mark.parametrize("length", [1, 5, 19, 78, 100])
def test_tokens_follow_the_definition(alphabet: str, length: int) -> None:
    for number in range(50):
        material = f"seed/purpose/{number}"
        assert derive_token(material, length, alphabet) == _digit_by_digit(material, length, alphabet)
