"""The fast path for Vertex JSONL: msgspec typed decoding, then a few identity checks.

msgspec decodes a line into structs and checks, in C, what most of the
Vertex rules ask: known fields only, roles ``user``/``model``, non-empty
lists and strings, text-only system instructions.  What is left (role order,
one kind per part, whitespace-only text, blank URIs) is a short loop.

The fast path only ever *accepts*: any line it does not fully like (a
problem, a warning, snake_case spellings, anything unusual) returns ``None``
and goes through :class:`VertexCodec`, which reports every problem with its
field.  So it changes speed, never results; the tests run both paths.
"""

# No `from __future__ import annotations`: msgspec reads the annotations of
# the structs below at run time, and they are local to _build().
from collections.abc import Callable
from typing import Annotated, Any, Literal, Union

from tuneport.datasets import _json
from tuneport.datasets.light import MODEL, USER, FileRef, LightExample, LightPart, LightTurn

__all__ = ["vertex_fast_decoder"]

FastDecoder = Callable[[bytes], LightExample | None]
_cache: dict[int, FastDecoder] = {}


def vertex_fast_decoder() -> FastDecoder | None:
    """A fast decoder of Vertex lines, or ``None`` without msgspec."""
    msgspec = _json.msgspec_module()
    if msgspec is None:
        return None
    decoder = _cache.get(id(msgspec))
    if decoder is None:
        decoder = _cache[id(msgspec)] = _build(msgspec)
    return decoder


def _build(msgspec: Any) -> FastDecoder:
    from msgspec import UNSET, Meta, Struct, UnsetType

    non_empty = Annotated[str, Meta(min_length=1)]

    # Structs mirror the camelCase wire format; gc=False because they hold no cycles.
    class FileData(Struct, forbid_unknown_fields=True, gc=False):
        mimeType: non_empty
        fileUri: non_empty

    class Part(Struct, forbid_unknown_fields=True, gc=False):
        text: Union[non_empty, UnsetType] = UNSET
        fileData: Union[FileData, UnsetType] = UNSET

    class Content(Struct, forbid_unknown_fields=True, gc=False):
        role: Literal["user", "model"]
        parts: Annotated[list[Part], Meta(min_length=1)]

    class SystemPart(Struct, forbid_unknown_fields=True, gc=False):
        text: non_empty

    class System(Struct, forbid_unknown_fields=True, gc=False):
        parts: Annotated[list[SystemPart], Meta(min_length=1)]
        role: Union[str, UnsetType] = UNSET

    class VertexExample(Struct, forbid_unknown_fields=True, gc=False):
        contents: Annotated[list[Content], Meta(min_length=1)]
        systemInstruction: Union[System, UnsetType] = UNSET

    decode = msgspec.json.Decoder(VertexExample).decode
    decode_error = msgspec.DecodeError

    def fast(raw: bytes) -> LightExample | None:
        try:
            example = decode(raw)
        except decode_error:
            return None
        turns: list[LightTurn] = []
        expected = USER
        for content in example.contents:
            if content.role != expected:
                return None
            parts = content.parts
            if len(parts) == 1:
                # Most turns are one text part: no list, no loop.
                part = parts[0]
                text = part.text
                if text is not UNSET and part.fileData is UNSET and not text.isspace():
                    turns.append((expected, (text,)))
                    expected = MODEL if expected is USER else USER
                    continue
            light_parts: list[LightPart] = []
            for part in parts:
                text = part.text
                if text is UNSET:
                    data = part.fileData
                    if data is UNSET or data.fileUri.isspace():
                        return None
                    light_parts.append(FileRef(data.fileUri, data.mimeType))
                elif part.fileData is not UNSET or text.isspace():
                    return None
                else:
                    light_parts.append(text)
            turns.append((expected, tuple(light_parts)))
            expected = MODEL if expected is USER else USER
        if expected is not USER:  # the last turn was a user turn
            return None
        system_instruction = example.systemInstruction
        if system_instruction is UNSET:
            return LightExample((), tuple(turns))
        system = tuple([p.text for p in system_instruction.parts])
        for text in system:
            if text.isspace():
                return None
        return LightExample(system, tuple(turns))

    return fast
