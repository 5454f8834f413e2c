"""Reading what a toolbox request sends: the body (JSON or a form) and each image in it.

An image arrives as a file part, raw base64, a data URL or an http(s) URL. The local preview
fetches URLs only from loopback hosts (no redirects), so it never reaches the internet; any other
host is a 400 that says how to send the image instead.
"""

from __future__ import annotations

import base64
import binascii
import io
import ipaddress
import urllib.error
import urllib.parse
import urllib.request
import warnings
from dataclasses import dataclass
from typing import Any

from PIL import Image

from .gate import content_type_message
from .multipart import Form, Upload, parse_form
from .responses import ApiError
from .validation import Field, parse_json

MAX_FILE = 25 * 1024 * 1024
MIN_PIXELS = 65_536
FETCH_TIMEOUT = 10.0
CONTENT_TYPES = ("application/json", "multipart/form-data")


@dataclass
class Incoming:
    """A toolbox request body read once: the fields (files as ``Upload``) or the error to answer."""

    route: str
    body: Any = None
    multipart: bool = False
    error: ApiError | None = None

    @property
    def recorded(self) -> Any:
        """What ``LocalServer.received`` keeps: the fields, uploaded files as base64 strings."""
        if not isinstance(self.body, dict):
            return self.body

        def plain(value: Any) -> Any:
            if isinstance(value, Upload):
                return base64.b64encode(value.data).decode("ascii")
            if isinstance(value, list):
                return [plain(v) for v in value]
            return value

        return {k: plain(v) for k, v in self.body.items()}


def read(route: str, raw: bytes, content_type: str | None, schema: dict[str, Field]) -> Incoming:
    """Decode the body by its Content-Type; errors are kept, to be answered after the auth check."""
    ctype = (content_type or "").split(";")[0].strip().lower()
    try:
        if route == "/image/multi-edit" and not raw:
            raise ApiError(
                415, "Request body is empty: send application/json or multipart/form-data"
            )
        if ctype == "application/json":
            return Incoming(route, _normalise(parse_json(raw)))
        if ctype == "multipart/form-data":
            form = parse_form(raw, content_type or "")
            return Incoming(route, _normalise(_form_body(route, form, schema)), multipart=True)
        raise ApiError(400, content_type_message(CONTENT_TYPES))
    except ApiError as err:
        return Incoming(route, error=err)


def _normalise(body: Any) -> Any:
    if isinstance(body, dict) and body.get("output_format") == "jpg":
        return {**body, "output_format": "jpeg"}  # the spec's description accepts "jpg"
    return body


def _form_body(route: str, form: Form, schema: dict[str, Field]) -> dict[str, Any]:
    """Form fields as a JSON-like dict: numbers and booleans parsed, files as ``Upload``s."""
    multi = route == "/image/multi-edit"
    body: dict[str, Any] = {}
    for name, values in form.fields.items():
        if name == "images" and multi:
            raise ApiError(400, "multipart/form-data takes 'images' as file uploads only")
        spec = schema.get(name)
        body[name] = coerce(values[-1], spec.kind if spec else "string")
    for name, uploads in form.files.items():
        if name == "images" and multi:
            body[name] = list(uploads)
        elif name in ("image", "images"):
            body[name] = uploads[-1]
        else:
            body[name] = uploads[-1].data.decode("utf-8", "replace")
    return body


def coerce(text: str, kind: str) -> Any:
    """A form value as the type the schema wants; left a string (and refused) when it is not one."""
    if kind in ("number", "integer"):
        try:
            number = float(text)
        except ValueError:
            return text
        return int(number) if number.is_integer() else number
    if kind == "boolean" and text.lower() in ("true", "false"):
        return text.lower() == "true"
    return text


# --- images -----------------------------------------------------------------------------------


def _image_error(status: int, code: str, message: str) -> ApiError:
    return ApiError(status, {"code": code, "error": message})


def too_large(name: str, size: int) -> ApiError:
    return _image_error(
        413,
        "PAYLOAD_TOO_LARGE",
        f"{name} is {size / 1024 / 1024:.1f} MB; files must be under 25 MB",
    )


def load_image(
    value: str | Upload, name: str, *, allow_url: bool, max_pixels: int | None
) -> Image.Image:
    """A decoded, size-checked image, or the live error: 413, CORRUPTED_IMAGE, IMAGE_TOO_SMALL,
    IMAGE_TOO_LARGE (422)."""
    data = image_bytes(value, name, allow_url=allow_url)
    if len(data) > MAX_FILE:
        raise too_large(name, len(data))
    corrupted = _image_error(
        400, "CORRUPTED_IMAGE", f"{name} could not be read as an image (PNG, JPEG or WebP)"
    )
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            img = Image.open(io.BytesIO(data))
            width, height = img.size
    except Image.DecompressionBombError:
        width, height, img = 1 << 16, 1 << 16, None
    except (OSError, ValueError, SyntaxError):
        raise corrupted from None
    pixels = width * height
    if pixels < MIN_PIXELS:
        raise _image_error(
            400,
            "IMAGE_TOO_SMALL",
            f"{name} is {width}x{height} ({pixels:,} pixels); images need at least "
            f"{MIN_PIXELS:,} pixels (e.g. 256x256)",
        )
    if img is None or (max_pixels is not None and pixels > max_pixels):
        limit = f"{max_pixels:,}" if max_pixels else "the supported number of"
        raise _image_error(
            422,
            "IMAGE_TOO_LARGE",
            f"{name} is {width}x{height} ({pixels:,} pixels); at most {limit} pixels are accepted",
        )
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            img.load()
    except (OSError, ValueError, SyntaxError):
        raise corrupted from None
    return img


def image_bytes(value: str | Upload, name: str, *, allow_url: bool) -> bytes:
    """The bytes of a file part, a base64 string, a data URL or a loopback http(s) URL."""
    if isinstance(value, Upload):
        return value.data
    text = value.strip()
    if text.lower().startswith(("http://", "https://")):
        if not allow_url:
            raise ApiError(
                400,
                f"{name} must be base64 or a file upload on this endpoint, not a URL"
                + (" (send URLs as image_url)" if name == "image" else ""),
            )
        return fetch_loopback(text, name)
    if text.startswith("data:"):
        _, _, text = text.partition(",")
    try:
        return base64.b64decode(text + "=" * (-len(text) % 4))
    except (binascii.Error, ValueError):
        raise _image_error(400, "CORRUPTED_IMAGE", f"{name} is not valid base64") from None


def is_loopback(host: str | None) -> bool:
    if not host:
        return False
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None  # a loopback URL must not lead the preview server off the machine


def fetch_loopback(url: str, name: str) -> bytes:
    """GET a loopback URL (no proxies, no redirects, bounded size and time)."""
    host = urllib.parse.urlsplit(url).hostname
    if not is_loopback(host):
        raise ApiError(
            400,
            f"{name}: the local preview server fetches image URLs only from this machine "
            f"(127.0.0.1, localhost, [::1]), not from '{host}'. Send the image as base64 or a "
            "file upload, or serve it on loopback.",
        )
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}), _NoRedirect())
    parts = urllib.parse.urlsplit(url)
    request = urllib.request.Request(url)
    if parts.username is not None:  # user:password@ as HTTP basic auth, as a browser would
        netloc = parts.netloc.rpartition("@")[2]
        request = urllib.request.Request(urllib.parse.urlunsplit(parts._replace(netloc=netloc)))
        pair = (
            f"{urllib.parse.unquote(parts.username)}:{urllib.parse.unquote(parts.password or '')}"
        )
        request.add_header("Authorization", "Basic " + base64.b64encode(pair.encode()).decode())
    try:
        with opener.open(request, timeout=FETCH_TIMEOUT) as resp:
            data = resp.read(MAX_FILE + 1)
    except (urllib.error.URLError, OSError, ValueError) as err:
        reason = getattr(err, "reason", None) or err
        raise ApiError(400, f"{name}: could not fetch the image at {url} ({reason})") from None
    return data
