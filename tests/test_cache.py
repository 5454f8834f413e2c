"""The result cache: round trips over real HTTP, keys, corruption, eviction, concurrency, bad dirs."""

from __future__ import annotations

import json
import os
import random
import threading
import time
import warnings
from pathlib import Path

import pytest
from factories import make_result, noisy_bytes, request

from venice_nb.cache import META, ResultCache
from venice_nb.client import KEY_ENV, VeniceClient
from venice_nb.operations.generate import GenerateRequest
from venice_nb.result import GenerationResult, Timing
from venice_nb.session import VeniceSession
from venice_nb.settings import Settings

CANARY = "vn-canary-7d3f9a1c2b4e8f60"
MB = 1024 * 1024


IMAGE_A = noisy_bytes("webp", seed=1, quality=90)  # real (noisy, so not tiny) WebPs
IMAGE_B = noisy_bytes("webp", seed=2, quality=90)
CACHE_TIMING = Timing(
    queue_ms=5.0, preprocessing_ms=1.0, inference_ms=200.0, total_ms=210.0, wall_ms=250.0
)


def _result(seed: int | None = 7, images: tuple[bytes, ...] = (IMAGE_A,), **kw) -> GenerationResult:
    """A result as the client would build it (for the disk-level tests that need no server)."""
    kw = {
        "timing": CACHE_TIMING,
        "cost_usd": 0.01,
        "base_url": "https://api.venice.ai/api/v1",
        **kw,
    }
    return make_result(*images, seed=seed, id="gen-123", backend="venice", **kw)


def _key(cache: ResultCache, n: int | str) -> str:
    return cache.key("generate", "https://api.venice.ai/api/v1", request(prompt=f"p{n}").to_json())


def _entry(cache: ResultCache, key: str) -> Path:
    return cache.directory / key[:2] / key


def _all_bytes(directory: Path) -> list[tuple[Path, bytes]]:
    return [(p, p.read_bytes()) for p in directory.rglob("*") if p.is_file()]


# ---- real HTTP -----------------------------------------------------------------------------------


def test_round_trip_through_client(local_server, tmp_path):
    cache = ResultCache(tmp_path / "c", max_bytes=64 * MB)
    req = GenerateRequest(
        model="z-image-turbo",
        prompt="a gondola at dusk",
        seed=42,
        width=256,
        height=256,
        format="webp",
        variants=2,
    )
    with VeniceClient("test-key", base_url=local_server.base_url) as client:
        fresh = client.generate(req)
    key = cache.key("generate", client.base_url, req.to_json())
    assert cache.get(key, req) is None  # a miss before the put
    cache.put(key, fresh)

    hit = cache.get(key, req)
    assert hit is not None
    assert [im.data for im in hit.images] == [im.data for im in fresh.images]
    assert [im.format for im in hit.images] == ["webp", "webp"]
    assert hit.cached is True and fresh.cached is False
    assert hit.cost_usd == 0.0
    assert hit.request is req
    assert (hit.id, hit.seed, hit.backend, hit.route) == (fresh.id, 42, fresh.backend, "generate")
    assert hit.seed == fresh.seed
    api = ("queue_ms", "preprocessing_ms", "inference_ms", "total_ms")
    assert [getattr(hit.timing, k) for k in api] == [getattr(fresh.timing, k) for k in api]
    assert "cached" in repr(hit)
    assert cache.stats()["entries"] == 1


def _session(server, cache_dir: Path, monkeypatch, key: str = CANARY, **settings) -> VeniceSession:
    monkeypatch.setenv(KEY_ENV, key)
    return VeniceSession(
        Settings(backend="venice", base_url=server.base_url, cache_dir=str(cache_dir), **settings)
    )


def test_session_second_seeded_call_is_served_from_disk(local_server, tmp_path, monkeypatch):
    session = _session(local_server, tmp_path / "c", monkeypatch)
    req = GenerateRequest(model="z-image-turbo", prompt="a lagoon", seed=5, width=256, height=256)
    first = session.generate(req)
    count = local_server.generate_count
    second = session.generate(req)
    assert local_server.generate_count == count  # no request reached the server
    assert second.cached and not first.cached
    assert second.cost_usd == 0.0
    assert second.image.data == first.image.data

    session.generate(req, use_cache=False)  # --no-cache goes to the server
    assert local_server.generate_count == count + 1
    session.generate(req.with_(cfg_scale=6.5))  # another parameter is another image
    assert local_server.generate_count == count + 2


def test_local_preview_hits_survive_a_new_server_port(tmp_path, monkeypatch):
    """A kernel restart starts the local preview server on another port; a seeded re-run must
    still be free, so local results are keyed by name and version, not by URL."""
    from venice_nb.server import LocalServer

    monkeypatch.delenv(KEY_ENV, raising=False)
    req = GenerateRequest(model="z-image-turbo", prompt="a lagoon", seed=9, width=256, height=256)
    first_images = None
    for _ in range(2):  # two "kernels", each with its own server on its own port
        with LocalServer() as server:
            session = VeniceSession(Settings(backend="local", cache_dir=str(tmp_path / "c")))
            monkeypatch.setattr("venice_nb.server.shared_server", lambda server=server: server)
            result = session.generate(req)
            if first_images is None:
                first_images = result.image.data
                assert not result.cached and server.generate_count == 1
            else:
                assert result.cached and server.generate_count == 0
                assert result.image.data == first_images


def test_unseeded_requests_are_never_cached(local_server, tmp_path, monkeypatch):
    session = _session(local_server, tmp_path / "c", monkeypatch)
    req = GenerateRequest(model="z-image-turbo", prompt="a lagoon", width=256, height=256)
    count = local_server.generate_count
    a, b = session.generate(req), session.generate(req)
    assert local_server.generate_count == count + 2
    assert not a.cached and not b.cached
    assert session.cache.stats()["entries"] == 0

    # and put refuses them even when asked directly
    cache = ResultCache(tmp_path / "d", max_bytes=64 * MB)
    cache.put(_key(cache, 1), a)
    cache.put(_key(cache, 2), _result(seed=None))
    assert cache.stats() == {"entries": 0, "bytes": 0}


def test_canary_key_is_nowhere_in_the_cache(local_server, tmp_path, monkeypatch):
    cache_dir = tmp_path / "c"
    base = local_server.base_url.replace("://", f"://user:{CANARY}@", 1)
    session = _session(local_server, cache_dir, monkeypatch)
    for seed in (1, 2):
        session.generate(
            GenerateRequest(
                model="z-image-turbo", prompt="canary", seed=seed, width=256, height=256
            )
        )
    # a base URL carrying credentials must not leak them either
    result = _result()
    result.base_url = base
    session.cache.put(session.cache.key("generate", base, result.request.to_json()), result)

    files = _all_bytes(cache_dir)
    assert len(files) >= 6  # three entries: image + meta each
    for path, data in files:
        assert CANARY.encode() not in data, path
        assert CANARY not in path.as_posix()
    assert CANARY not in repr(session.cache)


# ---- keys ----------------------------------------------------------------------------------------


def test_keys_follow_what_decides_the_image():
    cache = ResultCache("/nonexistent-unused", max_bytes=MB)
    url = "https://api.venice.ai/api/v1"
    body = request(seed=7, cfg_scale=7.0, width=512, height=512).to_json()
    k = cache.key("generate", url, body)
    assert len(k) == 64 and int(k, 16) >= 0
    # order of keys, an integral float and a trailing slash do not matter
    assert cache.key("generate", url + "/", dict(reversed(list(body.items())))) == k
    assert cache.key("generate", url, {**body, "cfg_scale": 7}) == k
    # everything else does
    others = {
        cache.key("openai", url, body),
        cache.key("generate", "http://127.0.0.1:9/api/v1", body),
        cache.key("generate", url, {**body, "seed": 8}),
        cache.key("generate", url, {**body, "cfg_scale": 7.5}),
        cache.key("generate", url, {**body, "format": "png"}),
        cache.key("generate", url, {**body, "prompt": "a gondola "}),
        cache.key("generate", url, {**body, "safe_mode": False}),
    }
    assert len(others) == 7 and k not in others
    assert cache.get("../../etc/passwd", request()) is None


# ---- corruption ----------------------------------------------------------------------------------


def _rewrite_meta(entry: Path, **changes) -> None:
    meta = json.loads((entry / META).read_text())
    meta.update(changes)
    (entry / META).write_text(json.dumps(meta))


def _first_image(entry: Path) -> Path:
    return entry / json.loads((entry / META).read_text())["images"][0]["file"]


def _not_an_image(entry: Path) -> None:
    """Bytes that pass the length and checksum test but are no image."""
    import zlib

    junk = b"<html>502 Bad Gateway</html>"
    _first_image(entry).write_bytes(junk)
    meta = json.loads((entry / META).read_text())
    meta["images"][0].update(bytes=len(junk), crc32=zlib.crc32(junk))
    (entry / META).write_text(json.dumps(meta))


CORRUPTIONS = {
    "meta not json": lambda e: (e / META).write_text("{not json"),
    "meta truncated": lambda e: (e / META).write_bytes((e / META).read_bytes()[:40]),
    "meta missing": lambda e: (e / META).unlink(),
    "meta not an object": lambda e: (e / META).write_text("[1, 2]"),
    "meta binary": lambda e: (e / META).write_bytes(b"\xff\xfe\x00garbage"),
    "wrong version": lambda e: _rewrite_meta(e, version=999),
    "other key": lambda e: _rewrite_meta(e, key="0" * 64),
    "no images listed": lambda e: _rewrite_meta(e, images=[]),
    "bad image record": lambda e: _rewrite_meta(e, images=["0.webp"]),
    "path in file name": lambda e: _rewrite_meta(
        e, images=[{"file": "../x", "bytes": 1, "crc32": 1}]
    ),
    "wrong field type": lambda e: _rewrite_meta(e, id=["not", "a", "string"]),
    "timing not numbers": lambda e: _rewrite_meta(e, timing={"total_ms": "fast"}),
    "image missing": lambda e: _first_image(e).unlink(),
    "image truncated": lambda e: _first_image(e).write_bytes(_first_image(e).read_bytes()[:-100]),
    "image bit flipped": lambda e: _first_image(e).write_bytes(
        _first_image(e).read_bytes()[:50] + b"\x00" + _first_image(e).read_bytes()[51:]
    ),
    "image is no image": _not_an_image,
    "entry is a file": lambda e: (__import__("shutil").rmtree(e), e.write_text("x")),
}


@pytest.mark.parametrize("damage", list(CORRUPTIONS), ids=list(CORRUPTIONS))
def test_corrupt_entry_is_a_miss_and_gets_replaced(tmp_path, damage):
    cache = ResultCache(tmp_path, max_bytes=64 * MB)
    key = _key(cache, 1)
    cache.put(key, _result())
    entry = _entry(cache, key)
    assert cache.get(key, request()) is not None
    CORRUPTIONS[damage](entry)

    assert cache.get(key, request()) is None  # ignored, no exception
    assert not entry.exists()  # and removed
    cache.put(key, _result(images=(IMAGE_B,)))
    hit = cache.get(key, request())
    assert hit is not None and hit.image.data == IMAGE_B


@pytest.mark.parametrize("damage", ["meta not json", "image truncated", "entry is a file"])
def test_put_replaces_a_corrupt_entry_without_a_get_first(tmp_path, damage):
    cache = ResultCache(tmp_path, max_bytes=64 * MB)
    key = _key(cache, 1)
    cache.put(key, _result())
    CORRUPTIONS[damage](_entry(cache, key))
    cache.put(key, _result(images=(IMAGE_B,)))
    hit = cache.get(key, request())
    assert hit is not None and hit.image.data == IMAGE_B


def test_a_whole_entry_already_in_place_is_kept(tmp_path):
    """Two writers of the same key: the first rename wins, the second copy is dropped quietly."""
    cache = ResultCache(tmp_path, max_bytes=64 * MB)
    key = _key(cache, 1)
    cache.put(key, _result())
    created = json.loads((_entry(cache, key) / META).read_text())["created"]
    cache.put(key, _result(images=(IMAGE_B,)))
    assert json.loads((_entry(cache, key) / META).read_text())["created"] == created
    assert cache.get(key, request()).image.data == IMAGE_A
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]  # no temp dir left


def test_blocked_cached_and_oversized_results_are_not_stored(tmp_path):
    cache = ResultCache(tmp_path, max_bytes=len(IMAGE_A) + len(IMAGE_B) - 1)
    cache.put(_key(cache, 1), _result(content_violation=True))
    cache.put(_key(cache, 2), _result(cached=True))
    cache.put(_key(cache, 3), _result(images=(IMAGE_A, IMAGE_B)))
    assert cache.stats()["entries"] == 0
    cache.put(_key(cache, 4), _result())
    assert cache.stats()["entries"] == 1


def test_meta_records_provenance_per_image(tmp_path):
    cache = ResultCache(tmp_path, max_bytes=64 * MB)
    key = _key(cache, 1)
    cache.put(key, _result(images=(IMAGE_A, IMAGE_B)))
    entry = _entry(cache, key)
    meta = json.loads((entry / META).read_text())
    assert meta["request"]["seed"] == 7 and meta["id"] == "gen-123" and meta["cost_usd"] == 0.01
    assert [im["format"] for im in meta["images"]] == ["webp", "webp"]
    assert (entry / "0.webp").read_bytes() == IMAGE_A and (entry / "1.webp").read_bytes() == IMAGE_B
    hit = cache.get(key, request())
    assert [im.index for im in hit.images] == [0, 1]
    assert hit.timing.inference_ms == 200.0 and hit.timing.wall_ms != 250.0


# ---- size bound ----------------------------------------------------------------------------------


def test_size_bound_evicts_least_recently_used_first(tmp_path):
    probe = ResultCache(tmp_path / "probe", max_bytes=64 * MB)
    probe.put(_key(probe, 0), _result())
    one = probe.stats()["bytes"]

    cache = ResultCache(tmp_path / "c", max_bytes=3 * one + one // 2)  # room for three
    keys = [_key(cache, n) for n in range(4)]
    for k in keys[:3]:
        cache.put(k, _result())
    stats = cache.stats()
    assert stats["entries"] == 3 and abs(stats["bytes"] - 3 * one) < 64  # metas differ a little
    for age, k in enumerate(keys[:3]):  # explicit ages: 0 oldest
        t = time.time() - 1000 + age
        os.utime(_entry(cache, k), (t, t))
    assert cache.get(keys[0], request()) is not None  # a hit makes the oldest the newest

    cache.put(keys[3], _result())
    present = [_entry(cache, k).exists() for k in keys]
    assert present == [True, False, True, True]
    assert cache.stats()["bytes"] <= cache.max_bytes


def test_stale_writer_leftovers_are_swept(tmp_path):
    cache = ResultCache(tmp_path, max_bytes=64 * MB)
    old, new, trash = tmp_path / ".tmp-old", tmp_path / ".tmp-new", tmp_path / ".trash-x"
    for d in (old, new, trash):
        d.mkdir()
        (d / "0.webp").write_bytes(IMAGE_A)
    os.utime(old, (time.time() - 7200,) * 2)
    cache.evict()
    assert not old.exists() and not trash.exists()
    assert new.exists()  # may be a live writer


def test_clear_stats_and_repr(tmp_path):
    cache = ResultCache(tmp_path / "c", max_bytes=64 * MB)
    assert cache.stats() == {"entries": 0, "bytes": 0}  # no directory yet
    for n in range(3):
        cache.put(_key(cache, n), _result())
    stats = cache.stats()
    assert stats["entries"] == 3 and stats["bytes"] > 3 * len(IMAGE_A)
    assert str(tmp_path / "c") in repr(cache) and "3 entries" in repr(cache)
    cache.clear()
    assert cache.stats() == {"entries": 0, "bytes": 0}
    assert cache.get(_key(cache, 0), request()) is None
    cache.put(_key(cache, 0), _result())  # usable after a clear
    assert cache.get(_key(cache, 0), request()) is not None


# ---- concurrency ---------------------------------------------------------------------------------


def _run_threads(n: int, target) -> list[BaseException]:
    errors: list[BaseException] = []

    def guarded(i: int) -> None:
        try:
            target(i)
        except BaseException as exc:  # report, don't lose it in the thread
            errors.append(exc)

    threads = [threading.Thread(target=guarded, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert not any(t.is_alive() for t in threads)
    return errors


def test_concurrent_writers_leave_only_whole_entries(tmp_path):
    cache = ResultCache(tmp_path, max_bytes=64 * MB)
    keys = [_key(cache, n) for n in range(6)]
    payload = {k: (IMAGE_A if n % 2 else IMAGE_B) for n, k in enumerate(keys)}

    def writer(i: int) -> None:
        rnd = random.Random(i)
        own = cache if i % 2 else ResultCache(tmp_path, max_bytes=64 * MB)  # like another kernel
        for _ in range(25):
            k = (
                rnd.choice(keys[:2]) if rnd.random() < 0.5 else keys[i % len(keys)]
            )  # shared and own
            own.put(k, _result(images=(payload[k],)))
            hit = own.get(k, request())
            assert hit is None or hit.image.data == payload[k]

    assert _run_threads(8, writer) == []
    for k in keys:
        hit = cache.get(k, request())
        assert hit is not None and hit.image.data == payload[k]
    assert cache.stats()["entries"] == len(keys)
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]


def test_readers_racing_eviction_get_a_result_or_none(tmp_path):
    probe = ResultCache(tmp_path / "probe", max_bytes=64 * MB)
    probe.put(_key(probe, 0), _result())
    cache = ResultCache(tmp_path / "c", max_bytes=3 * probe.stats()["bytes"])  # constant churn
    keys = [_key(cache, n) for n in range(12)]
    done = threading.Event()
    seen = {"hits": 0, "misses": 0}

    def worker(i: int) -> None:
        rnd = random.Random(i)
        if i < 2:  # writers: keep filling past the bound
            for n in range(40):
                cache.put(keys[(n * 5 + i) % len(keys)], _result())
            done.set()
            return
        for _ in range(400):  # readers
            if done.is_set():
                break
            hit = cache.get(rnd.choice(keys), request())
            if hit is not None:
                assert hit.image.data == IMAGE_A and hit.cached
                seen["hits"] += 1
            else:
                seen["misses"] += 1

    assert _run_threads(8, worker) == []
    assert seen["hits"] > 0  # the readers did meet live entries, not only misses
    assert cache.stats()["bytes"] <= cache.max_bytes
    for k in keys:  # whatever survived is whole
        hit = cache.get(k, request())
        assert hit is None or hit.image.data == IMAGE_A


def test_two_caches_on_one_directory_act_like_two_kernels(tmp_path):
    a, b = ResultCache(tmp_path, max_bytes=64 * MB), ResultCache(tmp_path, max_bytes=64 * MB)
    key = _key(a, 1)
    a.put(key, _result())
    assert b.get(key, request()).image.data == IMAGE_A
    b.clear()
    assert a.get(key, request()) is None


# ---- unusable directory --------------------------------------------------------------------------


def test_unwritable_directory_degrades_to_no_cache(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("not a directory")
    cache = ResultCache(blocker / "cache", max_bytes=64 * MB)
    key = _key(cache, 1)
    with pytest.warns(RuntimeWarning, match="not usable"):
        cache.put(key, _result())
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # only once
        cache.put(key, _result())
        assert cache.get(key, request()) is None
    assert cache.stats() == {"entries": 0, "bytes": 0}
    assert "cache" in repr(cache)
    cache.clear()


def test_an_unusable_directory_degrades_to_no_cache(tmp_path):
    """A cache directory that cannot be made (a file holds its name: true for root too)."""
    (tmp_path / "c").write_text("x")
    cache = ResultCache(tmp_path / "c", max_bytes=64 * MB)
    with pytest.warns(RuntimeWarning, match="cache"):
        cache.put(_key(cache, 1), _result())
    assert cache.get(_key(cache, 1), request()) is None
    assert (tmp_path / "c").read_text() == "x"


def test_session_generates_without_a_usable_cache(local_server, tmp_path, monkeypatch):
    blocker = tmp_path / "file"
    blocker.write_text("x")
    session = _session(local_server, blocker / "cache", monkeypatch)
    req = GenerateRequest(model="z-image-turbo", prompt="a lagoon", seed=3, width=256, height=256)
    with pytest.warns(RuntimeWarning):
        first = session.generate(req)
    second = session.generate(req)
    assert not first.cached and not second.cached
    assert first.image.data == second.image.data  # the local server is deterministic
