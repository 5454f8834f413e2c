"""The image toolbox routes: ``/image/edit``, ``/image/multi-edit``, ``/image/upscale``,
``/image/background-remove``, checked the way the live service checks them.

All four take ``application/json`` or ``multipart/form-data`` against strict schemas (unknown keys are
zod-shaped 400s), answer with the image itself (Content-Type sniffed from the bytes), and refuse with
the live statuses: a wrong Content-Type 400, an empty multi-edit body 415, a JSON body over 35 MB or a
file over 25 MB 413 ``PAYLOAD_TOO_LARGE``, an unreadable image 400 ``CORRUPTED_IMAGE``, fewer than
65,536 pixels 400 ``IMAGE_TOO_SMALL``, an edit input over 33,177,600 pixels (or an upscale input that
cannot grow) 422 ``IMAGE_TOO_LARGE``, a prompt with a trigger word 422 content policy.

Where this local preview differs from the live service, on purpose:

* http(s) image URLs are fetched only from loopback hosts (127.0.0.0/8, ::1, localhost), without
  redirects; any other host is a 400 that says so. The preview never reaches the internet.
* ``/image/upscale`` reduces a scale whose output would pass 16,777,216 pixels to the largest that
  fits (for 2 as well as 4) and says so in two local headers, ``x-venice-upscale-scale-requested``
  and ``x-venice-upscale-scale-applied`` (the factor actually used, e.g. ``3.2``); the price stays
  that of the requested tier.
* ``qwen-edit`` (retired) is a 404 naming ``qwen-image-2-edit``; the content-policy trigger is the
  word "violation-test", as on ``/image/generate``.
* Toolbox calls share the key's rate limit and error budget with generation (``gate``).

As live (venice-api.md 0b.13-17): ``/image/upscale`` (JSON and multipart) and multipart
``/image/multi-edit`` ignore unknown fields (the retired ``enhance`` … among them); ``anon_user_id``
is taken on edit, multi-edit and background removal; ``transparent_background`` only where the row
says ``supportsTransparentBackground`` and with PNG/WebP output (PNG by default then); the multi-edit
``modelId`` is an enum of the models that combine images, so a ``combineImages: false`` one is a 400.
"""

from __future__ import annotations

import math
import urllib.parse
from dataclasses import dataclass, field
from typing import Any

from PIL import Image

from . import catalogue, faults, gate, render_toolbox
from .catalogue import RESOLUTION_LONG_SIDE, suggest
from .multipart import Upload
from .render import encode
from .responses import ApiError, Response
from .state import ServerState
from .toolbox_inputs import CONTENT_TYPES, Incoming, load_image
from .toolbox_inputs import read as read_body
from .validation import (
    ANON_USER_ID,
    NSFW_RE,
    VIOLATION_RE,
    Field,
    check_object,
    invalid,
    js_length,
    transparency_issues,
    zod_issue,
)

ROUTES = ("/image/edit", "/image/multi-edit", "/image/upscale", "/image/background-remove")
MAX_EDIT_PIXELS = 33_177_600
MAX_UPSCALE_PIXELS = 16_777_216
DEFAULT_EDIT_MODEL = "firered-image-edit"
BACKGROUND_REMOVER = "bria-bg-remover"  # listed under type=image; it serves only this route
DEFAULT_MAX_INPUT_IMAGES = 3
ENHANCE_USD = 0.04
ASPECT_RATIOS = ("auto", "1:1", "3:2", "4:3", "16:9", "21:9", "9:16", "2:3", "3:4", "4:5")
FORMATS = ("jpeg", "png", "webp")
CONTENT_POLICY = "Your prompt violates the content policy of this model. Please modify your prompt and try again."

_COMMON_EDIT: dict[str, Field] = {
    "prompt": Field("string", 1, max=32768, required=True),
    "aspect_ratio": Field("enum", options=ASPECT_RATIOS),
    "resolution": Field("string", 1, max=10),
    "output_format": Field("enum", options=FORMATS),
    "enhance_prompt": Field("boolean"),
    "disable_prompt_optimization_thinking": Field("boolean"),
    "safe_mode": Field("boolean"),
    "transparent_background": Field("boolean"),
    "anon_user_id": ANON_USER_ID,
}
SCHEMAS: dict[str, dict[str, Field]] = {
    "/image/edit": {
        "image": Field("any", required=True),
        "model": Field("string", 1),
        "modelId": Field("string", 1),
        **_COMMON_EDIT,
    },
    "/image/multi-edit": {
        "images": Field("any", required=True),
        "modelId": Field("string", 1),
        "quality": Field("enum", options=("low", "medium", "high")),
        **_COMMON_EDIT,
    },
    "/image/upscale": {
        "image": Field("any", required=True),
        "scale": Field("number", 2, max=4),
        "creativity": Field("number", nullable=True),
    },
    "/image/background-remove": {
        "image": Field("any"),
        "image_url": Field("string"),
        "anon_user_id": ANON_USER_ID,
    },
}


def lenient(incoming: Incoming) -> bool:
    """Routes that accept and ignore unknown fields, as live: upscale, multipart multi-edit."""
    return incoming.route == "/image/upscale" or (
        incoming.route == "/image/multi-edit" and incoming.multipart
    )


# --- the catalogue rows ---------------------------------------------------------------------------


def edit_rows() -> list[dict[str, Any]]:
    """The ``?type=inpaint`` rows (the edit models), as the live catalogue serves them."""
    return [m.row for m in catalogue.models("inpaint")]


def upscale_row() -> dict[str, Any]:
    return catalogue.models("upscale")[0].row


def edit_model(model_id: str) -> dict[str, Any]:
    """The edit model's row; a retired id is remapped, a 404 naming its replacement or a 410, as
    its entry says; an unknown id is a 404 with the closest edit model."""
    model = catalogue.get_model(model_id, "inpaint")
    if model is not None:
        return model.row
    gone = catalogue.retired(model_id)
    replacement = (
        catalogue.get_model(gone.replacement, "inpaint") if gone and gone.replacement else None
    )
    if gone is not None and gone.answer == "remap" and replacement is not None:
        return replacement.row
    if gone is not None:
        day = gone.removed_at[:10]
        if gone.answer == "410" or replacement is None:
            raise ApiError(
                410, f"The model {model_id} was retired on {day} and is no longer available."
            )
        raise ApiError(
            404,
            f"Specified model not found: {model_id}. This model was retired on {day}; "
            f"use {replacement.id} instead.",
        )
    ids = [r["id"] for r in edit_rows()]
    hint = suggest(model_id, ids)
    tail = f" Did you mean '{hint}'?" if hint else f" Edit models: {', '.join(ids)}."
    raise ApiError(404, f"Specified model not found: {model_id}.{tail}")


# --- the four routes ------------------------------------------------------------------------------


def read(route: str, raw: bytes, content_type: str | None) -> Incoming:
    """The request body of ``route``, read once (the server records it, then answers it)."""
    return read_body(route, raw, content_type, SCHEMAS[route])


@dataclass
class Job:
    """A checked request: what it costs, what it answers with, and how to draw the picture."""

    price: dict[str, float]  # {"usd": ..., "diem": ...}: a DIEM-paying account pays in DIEM
    headers: dict[str, str] = field(default_factory=dict)
    picture: Any = None  # () -> (PIL image, format)


def handle(
    incoming: Incoming, state: ServerState, authorization: str | None, content_type: str | None
) -> Response:
    """Answer one toolbox request: the gate (key, error budget, rate, Content-Type), faults,
    validation, price, picture. Failed 4xx answers count against the key's error budget."""
    admission = None
    if incoming.error is not None and incoming.error.status == 415:
        content_type = "application/json"  # an empty body is a 415 whatever its Content-Type says
    try:
        admission = gate.admit(
            state,
            authorization=authorization,
            content_type=content_type,
            body={"model": _budget_model(incoming)},
            resource_url=f"https://api.venice.ai/api/v1{incoming.route}",
            content_types=CONTENT_TYPES,
        )
        fault = state.faults.pop()
        state.sleep(state.latency)
        if fault is not None and fault.phase == "delay":
            state.sleep(faults.delay_seconds(fault))
        if fault is not None and fault.phase == "pre":
            limit = state.rate.rpm or 1000
            return faults.pre_response(
                fault, binary=True, limit=limit, reset_unit=state.rate.reset_unit
            )
        resp = _answer(incoming, state, admission.rate_headers)
    except ApiError as err:
        gate.charge_failure(state, admission, err)
        raise
    if fault is not None and resp.status == 200:
        resp = faults.post_response(fault, resp, None, resp.body, False)  # type: ignore[arg-type]
    return resp


def _budget_model(incoming: Incoming) -> str:
    """The model a failure is counted against (the budget is per key and model)."""
    body = incoming.body if isinstance(incoming.body, dict) else {}
    if incoming.route == "/image/upscale":
        return "upscaler"
    if incoming.route == "/image/background-remove":
        return BACKGROUND_REMOVER
    model = body.get("modelId") if incoming.route == "/image/multi-edit" else None
    model = model or body.get("model") or body.get("modelId") or DEFAULT_EDIT_MODEL
    return model if isinstance(model, str) else DEFAULT_EDIT_MODEL


def _answer(incoming: Incoming, state: ServerState, rate_headers: dict[str, str]) -> Response:
    route = incoming.route
    if incoming.error is not None:
        raise incoming.error
    body = incoming.body
    issues = check_object(body, SCHEMAS[route], strict=not lenient(incoming))
    if issues:
        raise invalid(issues)
    check = {
        "/image/edit": _edit,
        "/image/multi-edit": _multi_edit,
        "/image/upscale": _upscale,
        "/image/background-remove": _background_remove,
    }[route]
    job = check(body)
    balance_usd, balance_diem = state.ledger.snapshot()
    amount = job.price[state.ledger.currency]
    if not state.ledger.reserve(amount):
        raise ApiError(402, "Insufficient USD or Diem balance to complete request")
    try:
        img, fmt = job.picture()
        keep = fmt == "png" or (fmt == "webp" and img.mode == "RGBA")  # alpha where it can go
        data = encode(img if keep else img.convert("RGB"), fmt)
    except Exception:
        state.ledger.refund(amount)
        raise
    headers = {
        **job.headers,
        **rate_headers,
        "x-venice-balance-usd": balance_usd,
        "x-venice-balance-diem": balance_diem,
    }
    return Response(200, data, sniff(data), headers)


def sniff(data: bytes) -> str:
    """The image Content-Type the bytes themselves declare."""
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        return "image/png"
    if data.startswith(b"\xff\xd8\xff"):
        return "image/jpeg"
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "image/webp"
    return "application/octet-stream"


def _custom(path: list[Any], message: str) -> dict[str, Any]:
    return zod_issue("custom", path, message)


def _prompt_issues(row: dict[str, Any], prompt: str) -> list[dict[str, Any]]:
    limit = int(row["model_spec"]["constraints"].get("promptCharacterLimit", 32768))
    if js_length(prompt) <= limit:
        return []
    message = f"prompt exceeds the {limit} character limit of model '{row['id']}'"
    return [
        zod_issue(
            "too_big",
            ["prompt"],
            message,
            maximum=limit,
            type="string",
            inclusive=True,
            exact=False,
        )
    ]


def _resolution(
    row: dict[str, Any], body: dict[str, Any]
) -> tuple[str | None, list[dict[str, Any]]]:
    c = row["model_spec"]["constraints"]
    supported = c.get("resolutions") or ["1K"]
    wanted = body.get("resolution", c.get("defaultResolution", "1K"))
    for res in supported:
        if res.lower() == wanted.lower():
            return res, []
    message = (
        f"Resolution '{wanted}' is not supported by model '{row['id']}'. "
        f"Supported: {', '.join(supported)}"
    )
    return None, [_custom(["resolution"], message)]


def _aspect_issues(row: dict[str, Any], body: dict[str, Any]) -> list[dict[str, Any]]:
    ratio = body.get("aspect_ratio")
    ratios = row["model_spec"]["constraints"].get("aspectRatios") or []
    if ratio in (None, "auto") or ratio in ratios:
        return []
    message = (
        f"Aspect ratio '{ratio}' is not supported by model '{row['id']}'. "
        f"Supported: {', '.join(ratios)}"
    )
    return [_custom(["aspect_ratio"], message)]


def output_size(
    row: dict[str, Any], aspect_ratio: str | None, resolution: str, width: int, height: int
) -> tuple[int, int]:
    """Edit output: the tier's long side at the chosen ratio; ``auto`` follows the input's shape
    (snapped to the closest listed ratio when the model lists no ``auto``)."""
    ratios = row["model_spec"]["constraints"].get("aspectRatios") or []
    if aspect_ratio in (None, "auto"):
        ratio = width / height
        fixed = [r for r in ratios if r != "auto"]
        if "auto" not in ratios and fixed:
            ratio = min((_ratio(r) for r in fixed), key=lambda r: abs(math.log(r / ratio)))
    else:
        ratio = _ratio(aspect_ratio)
    long_side = RESOLUTION_LONG_SIDE[resolution]
    w, h = (long_side, long_side / ratio) if ratio >= 1 else (long_side * ratio, long_side)
    return max(16, round(w / 16) * 16), max(16, round(h / 16) * 16)


def _ratio(text: str) -> float:
    a, b = text.split(":")
    return float(a) / float(b)


def _edit_price(
    row: dict[str, Any], resolution: str, quality: str | None, images: int
) -> dict[str, float]:
    """The quality, tier or flat price, plus each input image beyond those included."""
    pricing = row["model_spec"]["pricing"]
    entry = None
    if quality:
        entry = pricing.get("quality", {}).get(resolution, {}).get(quality)
    entry = entry or pricing.get("resolutions", {}).get(resolution) or pricing["inpaint"]
    extra = pricing.get("inputImages")
    beyond = max(0, images - int(extra.get("included", 0))) if extra else 0
    return {
        unit: float(entry[unit]) + (beyond * float(extra["additional"][unit]) if extra else 0.0)
        for unit in ("usd", "diem")
    }


def _unit_prices(entry: dict[str, Any]) -> dict[str, float]:
    return {"usd": float(entry["usd"]), "diem": float(entry["diem"])}


def _model_headers(row: dict[str, Any]) -> dict[str, str]:
    headers = {"x-venice-model-id": row["id"], "x-venice-model-name": row["model_spec"]["name"]}
    dep = row["model_spec"].get("deprecation")
    if dep:
        replacement = dep.get("replacementModelId")
        headers["x-venice-model-deprecation-warning"] = (
            f"The model {row['id']} is deprecated and will be removed on {dep['date']}."
            + (f" Please migrate to {replacement}." if replacement else "")
        )
        headers["x-venice-model-deprecation-date"] = dep["date"]
        headers["x-venice-deprecated"] = "true"
        if replacement:
            headers["x-venice-deprecated-replacement"] = replacement
    return headers


def _edit_job(
    row: dict[str, Any],
    body: dict[str, Any],
    images: list[Image.Image],
    resolution: str,
    quality: str | None,
) -> Job:
    """What edit and multi-edit share once the inputs are read: policy, price, headers, picture."""
    prompt = body["prompt"]
    if VIOLATION_RE.search(prompt):
        raise ApiError(422, CONTENT_POLICY, {"x-venice-is-content-violation": "true"})
    blurred = body.get("safe_mode", True) and bool(NSFW_RE.search(prompt))
    width, height = output_size(row, body.get("aspect_ratio"), resolution, *images[0].size)
    transparent = body.get("transparent_background") is True
    fmt = body.get("output_format") or ("png" if resolution == "1K" or transparent else "jpeg")
    price = _edit_price(row, resolution, quality, len(images))
    headers = {
        **_model_headers(row),
        "x-venice-is-content-violation": "false",
        "x-venice-is-blurred": str(blurred).lower(),
    }
    if body.get("enhance_prompt"):
        price = {unit: value + ENHANCE_USD for unit, value in price.items()}
        enhanced = f"{prompt}, keeping the composition, clean detail (local preview)"
        headers["x-venice-enhanced-prompt"] = urllib.parse.quote(enhanced)
    note = f"{row['id']} · {resolution}"

    def picture() -> tuple[Image.Image, str]:
        if len(images) == 1:
            img = render_toolbox.edit(images[0], prompt, width, height, note, blurred)
        else:
            img = render_toolbox.multi_edit(images, prompt, width, height, note)
        return (render_toolbox.remove_background(img) if transparent else img), fmt

    return Job(price, headers, picture)


def _edit(body: dict[str, Any]) -> Job:
    model_id, alias = body.get("model"), body.get("modelId")
    if model_id is not None and alias is not None and model_id != alias:
        raise invalid([_custom(["modelId"], "Send either model or modelId (deprecated), not both")])
    row = edit_model(model_id or alias or DEFAULT_EDIT_MODEL)
    resolution, issues = _resolution(row, body)
    issues = _prompt_issues(row, body["prompt"]) + _aspect_issues(row, body) + issues
    issues += transparency_issues(row, body, body.get("output_format"))
    if not isinstance(body["image"], (str, Upload)):
        issues.append(_image_type_issue(["image"]))
    if issues:
        raise invalid(issues)
    assert resolution is not None
    image = load_image(body["image"], "image", allow_url=True, max_pixels=MAX_EDIT_PIXELS)
    quality = row["model_spec"]["constraints"].get("defaultQuality")
    return _edit_job(row, body, [image], resolution, quality)


def _image_type_issue(path: list[Any]) -> dict[str, Any]:
    return _custom(path, "Expected an image: a base64 string, a data URL or an http(s) URL")


def max_input_images(row: dict[str, Any]) -> int:
    c = row["model_spec"]["constraints"]
    if c.get("combineImages") is False:
        return 1
    return int(c.get("maxInputImages") or DEFAULT_MAX_INPUT_IMAGES)


def multi_edit_models() -> tuple[str, ...]:
    """The multi-edit ``modelId`` enum: the edit models that combine images (spec 2026-09)."""
    return tuple(r["id"] for r in edit_rows() if max_input_images(r) > 1)


def _multi_edit(body: dict[str, Any]) -> Job:
    enum = Field("enum", options=multi_edit_models())
    if "modelId" in body and (issues := enum.check(body["modelId"], ["modelId"])):
        raise invalid(issues)
    row = edit_model(body.get("modelId") or DEFAULT_EDIT_MODEL)
    resolution, issues = _resolution(row, body)
    issues = _prompt_issues(row, body["prompt"]) + _aspect_issues(row, body) + issues
    issues += transparency_issues(row, body, body.get("output_format"))
    images = body["images"]
    limit = max_input_images(row)
    if not isinstance(images, list):
        issues.append(zod_issue("invalid_type", ["images"], "Expected array", expected="array"))
    elif not images:
        issues.append(
            zod_issue(
                "too_small",
                ["images"],
                "Array must contain at least 1 element(s)",
                minimum=1,
                type="array",
                inclusive=True,
                exact=False,
            )
        )
    elif len(images) > limit:
        message = f"Model '{row['id']}' accepts at most {limit} input image(s); got {len(images)}"
        issues.append(_custom(["images"], message))
    else:
        issues += [
            _image_type_issue(["images", i])
            for i, item in enumerate(images)
            if not isinstance(item, (str, Upload))
        ]
    qualities = row["model_spec"]["constraints"].get("qualities") or []
    quality = body.get("quality", row["model_spec"]["constraints"].get("defaultQuality"))
    if "quality" in body and body["quality"] not in qualities:
        supported = f"Supported: {', '.join(qualities)}" if qualities else "It takes no quality."
        message = (
            f"Quality '{body['quality']}' is not supported by model '{row['id']}'. {supported}"
        )
        issues.append(_custom(["quality"], message))
    if issues:
        raise invalid(issues)
    assert resolution is not None
    loaded = [
        load_image(item, f"images[{i}]", allow_url=True, max_pixels=MAX_EDIT_PIXELS)
        for i, item in enumerate(images)
    ]
    return _edit_job(row, body, loaded, resolution, quality)


def upscale_plan(width: int, height: int, scale: float) -> tuple[int, int, float]:
    """(out width, out height, factor applied): ``scale``, reduced so the output stays within
    16,777,216 pixels; 422 when the input is already that big."""
    pixels = width * height
    factor = min(float(scale), math.sqrt(MAX_UPSCALE_PIXELS / pixels))
    out_w, out_h = math.floor(width * factor), math.floor(height * factor)
    if factor <= 1 or out_w * out_h <= pixels:
        raise ApiError(
            422,
            {
                "code": "IMAGE_TOO_LARGE",
                "error": f"The image has {pixels:,} pixels; an upscale must end at most "
                f"{MAX_UPSCALE_PIXELS:,} pixels, so this one cannot grow. Send a smaller image.",
            },
        )
    return out_w, out_h, factor


def _upscale(body: dict[str, Any]) -> Job:
    issues = []
    scale = body.get("scale", 2)
    if scale not in (2, 4):
        issues.append(_custom(["scale"], "scale must be 2 or 4"))
    if not isinstance(body["image"], (str, Upload)):
        issues.append(_custom(["image"], "Expected an image: a base64 string or a file upload"))
    if issues:
        raise invalid(issues)
    image = load_image(body["image"], "image", allow_url=False, max_pixels=None)
    creativity = body.get("creativity")
    creativity = 0.01 if creativity is None else min(max(float(creativity), 0.0), 0.02)
    out_w, out_h, factor = upscale_plan(*image.size, scale)
    row = upscale_row()
    tier = "4x" if scale == 4 else "2x"
    headers = {
        "x-venice-model-id": row["id"],
        "x-venice-model-name": row["model_spec"]["name"],
        "x-venice-upscale-scale-requested": str(int(scale)),
        "x-venice-upscale-scale-applied": f"{factor:.4g}",
    }
    price = _unit_prices(row["model_spec"]["pricing"]["upscale"][tier])
    return Job(
        price, headers, lambda: (render_toolbox.upscale(image, out_w, out_h, creativity), "png")
    )


def _background_remove(body: dict[str, Any]) -> Job:
    given = [k for k in ("image", "image_url") if body.get(k) is not None]
    if len(given) != 1:
        raise invalid([_custom([], "Provide exactly one of image (base64 or file) or image_url")])
    if given == ["image_url"]:
        url = body["image_url"]
        if urllib.parse.urlsplit(url).scheme not in ("http", "https"):
            raise invalid(
                [zod_issue("invalid_string", ["image_url"], "Invalid url", validation="url")]
            )
        image = load_image(url, "image_url", allow_url=True, max_pixels=None)
    elif isinstance(body["image"], (str, Upload)):
        image = load_image(body["image"], "image", allow_url=False, max_pixels=None)
    else:
        raise invalid([_custom(["image"], "Expected an image: a base64 string or a file upload")])
    remover = catalogue.get_model(BACKGROUND_REMOVER)
    assert remover is not None
    headers = {"x-venice-model-id": remover.id, "x-venice-model-name": remover.spec["name"]}
    price = _unit_prices(remover.spec["pricing"]["generation"])
    return Job(price, headers, lambda: (render_toolbox.remove_background(image), "png"))
