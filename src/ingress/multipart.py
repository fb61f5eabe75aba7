"""multipart/form-data as exact bytes, with python-multipart (the parser Starlette uses).

Starlette's form parser decodes text parts as UTF-8 and silently falls back to latin-1, which
mangles the windows-1252 or iso-2022-jp parts SendGrid forwards (their charset is in the
`charsets` field); and it copies each part four times on the way (slice, buffer, decode,
re-encode). For a 30 MB email those copies are single calls of 10-20 ms each that hold the
GIL, and with it every Twilio acknowledgement on the event loop. Here the parser reads the
body already in memory once, and each part is a view of that body: nothing is copied or
decoded until the caller decides how much of it it needs.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

from python_multipart.exceptions import FormParserError
from python_multipart.multipart import MultipartParser, parse_options_header

MAX_PARTS = 1000


@dataclass(frozen=True)
class FilePart:
    field: str
    filename: str
    content_type: str | None
    # Never in a repr: asyncio formats a finished task's result, and 30 MB of bytes take a
    # second to format, holding the GIL (and with it every Twilio acknowledgement).
    data: bytes | memoryview = dataclasses.field(repr=False)


@dataclass(frozen=True)
class Form:
    fields: dict[str, bytes | memoryview] = dataclasses.field(repr=False)
    files: list[FilePart] = dataclasses.field(repr=False)


class FormTooLarge(ValueError):
    pass


@dataclass
class _Part:
    headers: dict[bytes, bytes] = dataclasses.field(default_factory=dict)
    pieces: list[memoryview] = dataclasses.field(default_factory=list)
    size: int = 0

    def data(self) -> bytes | memoryview:
        # One piece (the usual case, the whole body fed at once) stays a view of the body.
        return self.pieces[0] if len(self.pieces) == 1 else b"".join(self.pieces)


def parse_form(content_type: str, body: bytes, max_part_size: int) -> Form:
    """Parse `body`; `ValueError` when it is not valid multipart, `FormTooLarge` for a part.

    The first value of a repeated field wins; every file part is kept, in order.
    """
    _, params = parse_options_header(content_type)
    boundary = params.get(b"boundary")
    if not boundary:
        raise ValueError("multipart/form-data without a boundary")
    parts: list[_Part] = []
    header = [b"", b""]

    def on_part_begin() -> None:
        if len(parts) >= MAX_PARTS:
            raise ValueError(f"more than {MAX_PARTS} parts")
        parts.append(_Part())

    def on_part_data(data: bytes, start: int, end: int) -> None:
        part = parts[-1]
        part.size += end - start
        if part.size > max_part_size:
            raise FormTooLarge(f"a part exceeded the maximum size of {max_part_size} bytes")
        # A view when `data` is the body; the parser's own look-behind buffer is copied.
        view = memoryview(data)[start:end] if data is body else memoryview(data[start:end])
        part.pieces.append(view)

    def on_header_field(data: bytes, start: int, end: int) -> None:
        header[0] += data[start:end]

    def on_header_value(data: bytes, start: int, end: int) -> None:
        header[1] += data[start:end]

    def on_header_end() -> None:
        parts[-1].headers[header[0].lower()] = header[1]
        header[0] = header[1] = b""

    parser = MultipartParser(
        boundary,
        {
            "on_part_begin": on_part_begin,
            "on_part_data": on_part_data,
            "on_header_field": on_header_field,
            "on_header_value": on_header_value,
            "on_header_end": on_header_end,
        },
    )
    try:
        parser.write(body)
        parser.finalize()
    except FormParserError as exc:
        raise ValueError("invalid multipart/form-data") from exc
    fields: dict[str, bytes | memoryview] = {}
    files: list[FilePart] = []
    for part in parts:
        _, options = parse_options_header(part.headers.get(b"content-disposition", b""))
        if b"name" not in options:
            raise ValueError('a part without a Content-Disposition "name"')
        name = options[b"name"].decode("utf-8", "replace")
        if b"filename" in options:
            part_type = part.headers.get(b"content-type")
            files.append(
                FilePart(
                    field=name,
                    filename=options[b"filename"].decode("utf-8", "replace"),
                    content_type=part_type.decode("latin-1") if part_type else None,
                    data=part.data(),
                )
            )
        else:
            fields.setdefault(name, part.data())
    return Form(fields=fields, files=files)
