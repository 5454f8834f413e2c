"""A ``multipart/form-data`` reader for the local preview server, built on the stdlib email parser.

``email.parser.BytesParser`` with ``policy=HTTP`` already understands boundaries, part headers and
``Content-Disposition`` parameters (RFC 2231 included), and keeps part bodies byte-exact, so the
server only adds the form-shaped view: text fields and uploaded files by name, in order.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from email.message import EmailMessage
from email.parser import BytesParser
from email.policy import HTTP

from .responses import ApiError


@dataclass(frozen=True)
class Upload:
    """One uploaded file part: its bytes and what the client said about them."""

    data: bytes
    filename: str
    content_type: str

    def __repr__(self) -> str:
        return f"Upload({self.filename!r}, {self.content_type}, {len(self.data)} bytes)"


@dataclass
class Form:
    """Form fields by name, each a list in the order sent (names may repeat: ``images``)."""

    fields: dict[str, list[str]] = field(default_factory=dict)
    files: dict[str, list[Upload]] = field(default_factory=dict)

    @property
    def names(self) -> list[str]:
        """Every part name once, text fields first."""
        return list(dict.fromkeys([*self.fields, *self.files]))


def boundary_of(content_type: str) -> str | None:
    """The boundary parameter of a ``multipart/form-data`` Content-Type, or None."""
    msg = EmailMessage(policy=HTTP)
    msg["Content-Type"] = content_type
    return msg.get_boundary()


def parse_form(raw: bytes, content_type: str) -> Form:
    """Split ``raw`` into text fields and files; 400 when it is not a readable form body.

    Parts with a filename are files; the rest are text fields (decoded as UTF-8, as browsers and
    ``requests`` send them).
    """
    if not boundary_of(content_type):
        raise ApiError(400, "multipart/form-data requires a boundary parameter in Content-Type")
    head = f"Content-Type: {content_type}\r\nMIME-Version: 1.0\r\n\r\n".encode("latin-1")
    msg = BytesParser(policy=HTTP).parsebytes(head + raw)
    if not isinstance(msg, EmailMessage) or not msg.is_multipart() or msg.defects:
        raise ApiError(400, "Malformed multipart/form-data body")
    form = Form()
    for part in msg.iter_parts():
        name = part.get_param("name", header="content-disposition")
        if not isinstance(name, str) or not name:
            raise ApiError(400, "Malformed multipart/form-data body: a part has no field name")
        payload = part.get_payload(decode=True)
        data = payload if isinstance(payload, bytes) else b""
        filename = part.get_filename()
        if filename is not None:
            ctype = part.get_content_type() if part.get("Content-Type") else ""
            form.files.setdefault(name, []).append(Upload(data, filename, ctype))
        else:
            try:
                text = data.decode("utf-8")
            except UnicodeDecodeError:
                raise ApiError(400, f"Form field '{name}' is not valid UTF-8 text") from None
            form.fields.setdefault(name, []).append(text)
    return form
