"""batch_result.py: a batch as its manifest records it, read from disk without sending anything:
the rows, the images one at a time, the gallery (plain HTML, data URIs), what failed."""

from __future__ import annotations

from pathlib import Path

import pytest
from factories import encode

from venice_nb.batch_result import BatchResult, gallery_html
from venice_nb.errors import ValidationError


def _batch(tmp_path: Path) -> BatchResult:
    (tmp_path / "thumbs").mkdir()
    (tmp_path / "a.png").write_bytes(encode("PNG", (64, 48)))
    (tmp_path / "b.webp").write_bytes(encode("WEBP", (32, 32)))
    (tmp_path / "thumbs" / "a.jpg").write_bytes(encode("JPEG", (24, 18)))
    rows = [
        {"key": "k1", "index": 0, "status": "done", "prompt": "a <kite>", "seed": 7, "seeds": [7, 8],
         "files": ["a.png", "b.webp"], "thumbs": ["thumbs/a.jpg", "thumbs/gone.jpg"], "cost": 0.01},
        {"key": "k2", "index": 1, "status": "failed", "prompt": "a boat", "error": "HTTP 500"},
    ]  # fmt: skip
    return BatchResult(tmp_path, tmp_path / "manifest.jsonl", rows, title="boats & kites")


def test_rows_split_into_done_and_failed_with_the_cost_of_what_landed(tmp_path: Path) -> None:
    result = _batch(tmp_path)
    assert [r["key"] for r in result.done] == ["k1"] and [r["key"] for r in result.failed] == ["k2"]
    assert result.cost_usd == pytest.approx(0.01) and len(result) == 2
    assert repr(result) == f"<BatchResult 1/2 done, 1 failed, {tmp_path / 'manifest.jsonl'}>"


def test_images_are_read_from_disk_one_at_a_time_with_their_seeds(tmp_path: Path) -> None:
    images = _batch(tmp_path).images
    assert len(images) == 2 and images.paths == [tmp_path / "a.png", tmp_path / "b.webp"]
    first, second = images
    assert (first.format, first.size, first.seed) == ("png", (64, 48), 7)
    assert (second.format, second.seed) == ("webp", 8)
    assert [im.seed for im in images[1:]] == [8]
    assert repr(images) == "<BatchImages 2 images on disk>"


def test_the_gallery_embeds_the_thumbnails_it_has_and_escapes_the_prompt(tmp_path: Path) -> None:
    result = _batch(tmp_path)
    page = gallery_html(tmp_path, result.done)
    assert page.count("<img") == 1  # the missing thumbnail is left out, not a broken image
    assert 'src="data:image/jpeg;base64,' in page and "1: a &lt;kite&gt; (seed 7)" in page
    assert "http" not in page


def test_the_output_says_what_failed_and_how_to_retry_it(tmp_path: Path) -> None:
    bundle = _batch(tmp_path)._repr_mimebundle_()
    assert "<b>boats &amp; kites</b>" in bundle["text/html"]
    assert "1 not done (result.retry_failed() sends only these)" in bundle["text/html"]
    assert "#2 a boat: HTTP 500" in bundle["text/html"]
    assert bundle["text/plain"].startswith("1/2 done, 2 images in ")
    assert bundle["text/plain"].endswith("$0.01 in all; 1 not done")


def test_a_result_that_cannot_send_says_so_on_retry(tmp_path: Path) -> None:
    with pytest.raises(ValidationError, match="cannot send; run the batch again"):
        _batch(tmp_path).retry_failed()
