"""Policy, pricing and the fair queue without a network: the rules and formulas themselves."""

from __future__ import annotations

import asyncio
import json
import time
from pathlib import Path

import pytest

from venice_nb.catalogue import Catalogue
from venice_nb.classroom.fairness import FairQueue, Pacer, QueueFull, reset_time
from venice_nb.classroom.ledger import to_micro
from venice_nb.classroom.policy import Policy, Refusal, check
from venice_nb.classroom.pricing import price

DATA = Path(__file__).resolve().parents[1] / "venice_nb" / "server" / "data"


@pytest.fixture(scope="module")
def catalogues():
    rows = json.loads((DATA / "venice-models-2026-08-20.json").read_text())
    rows = rows.get("data", rows) if isinstance(rows, dict) else rows
    by_type: dict[str, list] = {"image": [], "inpaint": [], "upscale": []}
    for row in rows:
        by_type.setdefault(row.get("type", "image"), []).append(row)
    return {kind: Catalogue.from_json({"data": r}) for kind, r in by_type.items()}


def priced(catalogues, route, body, policy=None):
    policy = policy or Policy(max_resolution="4K")
    out = check(policy, route, json.dumps(body).encode(), "application/json")
    return price(out, catalogues, policy)


def test_generate_prices_are_the_catalogues(catalogues):
    spec = catalogues["image"]["gpt-image-2"]
    got = priced(catalogues, "/image/generate",
                 {"model": "gpt-image-2", "prompt": "x", "variants": 2, "resolution": "2K",
                  "quality": "medium"})  # fmt: skip
    assert got.most == to_micro(spec.cost(2, "2K", "medium"))
    enhanced = priced(
        catalogues,
        "/image/generate",
        {"model": "z-image-turbo", "prompt": "x", "enhance_prompt": True},
    )
    assert enhanced.most == to_micro(0.05)  # reserved with the surcharge
    assert enhanced.settled(False) == to_micro(0.01) and enhanced.settled(True) == to_micro(0.05)


def test_toolbox_prices(catalogues):
    up = priced(catalogues, "/image/upscale", {"image": "aGk=", "scale": 4})
    assert up.most == to_micro(
        catalogues["upscale"][next(iter(catalogues["upscale"]))].pricing.by_scale["4x"]
    )
    cut = priced(catalogues, "/image/background-remove", {"image": "aGk="})
    assert cut.most == to_micro(0.03)


def test_policy_refusals_say_what_the_class_allows(catalogues):
    policy = Policy(models=("z-image-turbo",), max_variants=1, max_resolution="1K", toolbox=False)
    cases = [
        (
            "/image/generate",
            {"model": "gpt-image-2", "prompt": "x"},
            403,
            "use one of: z-image-turbo",
        ),
        ("/image/generate", {"prompt": "x"}, 403, "name a model; this class allows: z-image-turbo"),
        (
            "/images/generations",
            {"model": "z-image-turbo", "prompt": "x", "n": 2},
            403,
            "limit of 1",
        ),
        ("/image/upscale", {"image": "aGk="}, 403, "toolbox (/image/upscale) is switched off"),
        ("/image/generate", [1, 2], 400, "the body must be a JSON object"),
    ]
    for route, body, status, message in cases:
        with pytest.raises(Refusal) as info:
            check(policy, route, json.dumps(body).encode(), "application/json")
        assert (info.value.status, message in info.value.message) == (status, True), info.value


def test_a_default_resolution_above_the_limit_needs_an_explicit_one():
    rows = json.loads((DATA / "venice-models-2026-08-20.json").read_text())
    rows = rows.get("data", rows) if isinstance(rows, dict) else rows
    row = json.loads(json.dumps(next(r for r in rows if r["id"] == "nano-banana-2")))
    row["model_spec"]["constraints"]["defaultResolution"] = "4K"
    images = {"image": Catalogue.from_json({"data": [row]})}
    policy = Policy(max_resolution="2K")
    with pytest.raises(Refusal, match="nano-banana-2 renders at 4K by default, above this class's"):
        priced(images, "/image/generate", {"model": "nano-banana-2", "prompt": "x"}, policy)
    ok = priced(
        images,
        "/image/generate",
        {"model": "nano-banana-2", "prompt": "x", "resolution": "2K"},
        policy,
    )
    assert ok.most == to_micro(0.14)


def test_safe_mode_is_written_into_the_forwarded_body():
    out = check(Policy(), "/image/generate", b'{"model":"m","prompt":"x","safe_mode":false}',
                "application/json")  # fmt: skip
    assert json.loads(out.content)["safe_mode"] is True
    free = check(Policy(allow_unsafe=True), "/image/generate", b'{"model":"m","safe_mode":false}',
                 "application/json")  # fmt: skip
    assert json.loads(free.content)["safe_mode"] is False


def test_reset_headers_in_every_unit():
    now = 1_800_000_000.0
    assert reset_time({"x-ratelimit-reset-requests": str(int((now + 2) * 1000))}, now) == now + 2
    assert reset_time({"x-ratelimit-reset-requests": str(now + 3)}, now) == now + 3
    assert reset_time({"retry-after": "30"}, now) == now + 30
    assert reset_time({}, now) is None


def test_the_pacer_never_counts_on_requests_still_in_flight():
    pacer = Pacer()
    assert pacer.wait_s(time.time()) == 0  # unknown: one probe
    probe = pacer.take()
    assert pacer.wait_s(time.time()) == float("inf")  # until the probe answers
    reset = str(int((time.time() + 5) * 1000))
    pacer.observe(
        probe, 200, {"x-ratelimit-remaining-requests": "3", "x-ratelimit-reset-requests": reset}
    )
    tickets = [pacer.take() for _ in range(3)]
    assert pacer.wait_s(time.time()) > 4
    # The last sent reached the upstream first: its "2 left" does not count the two in flight.
    pacer.observe(tickets[2], 200, {"x-ratelimit-remaining-requests": "2"})
    assert pacer.remaining == 0
    pacer.observe(tickets[0], 429, {"x-ratelimit-reset-requests": reset})
    assert pacer.remaining == 0 and pacer.upstream_429s == 1


def test_the_queue_serves_students_in_turn_and_is_bounded():
    async def scenario() -> list[str]:
        queue = FairQueue(per_student=2, max_in_flight=1)
        queue.pacer.remaining = 100
        order: list[str] = []

        async def one(name: str) -> None:
            ticket = await queue.turn(name)
            order.append(name)
            await asyncio.sleep(0)
            queue.done(ticket, 200, {"x-ratelimit-remaining-requests": "100"})

        tasks = [asyncio.create_task(one(n)) for n in ("eager", "eager", "eager", "amy", "bo")]
        await asyncio.sleep(0)  # each has asked: one eager in flight, the rest queued
        with pytest.raises(QueueFull):
            await queue.turn("eager")
        await asyncio.gather(*tasks)
        return order

    order = asyncio.run(scenario())
    assert order == ["eager", "eager", "amy", "bo", "eager"]  # one in flight, then in turn
