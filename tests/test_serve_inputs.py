"""JSON pixels in the model's input form: the shapes accepted, and everything refused."""

from __future__ import annotations

import numpy as np
import pytest

from idk.apps.serve_inputs import Limits, RequestError, multipart_images, pixels_in_input_form
from idk.data.images import InputSpec
from idk.data.preparation import blank_in_input_form, prepare


def test_colour_pixels_channels_first_or_last():
    spec = InputSpec(3, 4, 5)
    chw = np.random.default_rng(0).random((3, 4, 5))
    assert np.array_equal(pixels_in_input_form(chw.tolist(), spec), chw.astype(np.float32))
    hwc = chw.transpose(1, 2, 0)
    assert np.array_equal(pixels_in_input_form(hwc.tolist(), spec), chw.astype(np.float32))
    with pytest.raises(RequestError) as refused:
        pixels_in_input_form(chw[0].tolist(), spec)  # (H, W) only for one channel
    assert refused.value.status == 422 and "(3, 4, 5)" in refused.value.message


def test_one_channel_pixels_with_or_without_their_channel():
    spec = InputSpec(1, 2, 3)
    hw = [[0.0, 0.5, 1.0], [1.0, 0.5, 0.0]]
    expected = np.array([hw], np.float32)
    for form in (hw, [hw], [[[v] for v in row] for row in hw]):
        out = pixels_in_input_form(form, spec)
        assert out.dtype == np.float32 and out.flags.c_contiguous and np.array_equal(out, expected)


def test_an_ambiguous_cube_is_read_channels_first():
    spec = InputSpec(3, 3, 3)
    cube = np.arange(27).reshape(3, 3, 3) / 27
    assert np.array_equal(pixels_in_input_form(cube.tolist(), spec), cube.astype(np.float32))


@pytest.mark.parametrize(
    ("value", "words"),
    [
        ([[0.1, float("nan")], [0.2, 0.3]], "NaN"),
        ([[0.1, float("inf")], [0.2, 0.3]], "NaN or infinite"),
        ([[0.1, -0.5], [0.2, 0.3]], "outside [0, 1]"),
        ([[0.1, 2.0], [0.2, 0.3]], "outside [0, 1]"),
        ([[0.1, 0.2], [0.3]], "rectangular"),
        ([["a", "b"], ["c", "d"]], "rectangular"),
        ({"x": 1}, "rectangular"),
        ([0.1, 0.2, 0.3, 0.4], "shape (4,)"),
        ([[True, False], [0.2, 0.3]], "true/false"),  # numpy would take them as 1 and 0
        ([[True, False, True]], "shape (1, 3)"),  # the shape is judged first
        ([[10**400, 0], [0, 0]], "holds a number too large"),  # an integer past float64: no traceback
        ([["0.5", 0.1], [0.2, 0.3]], "holds text"),  # numpy would read "0.5" as a number
        ([[None, 0.1], [0.2, 0.3]], "holds null"),  # numpy would read null as NaN
        ([[[0.1, 0.2], [0.3, 0.4]]] * 2, '(several images: {"images": [{"pixels": ...}, ...]})'),
    ],
)
def test_refused_pixels_are_422_with_a_reason(value, words):
    with pytest.raises(RequestError) as refused:
        pixels_in_input_form(value, InputSpec(1, 2, 2))
    assert refused.value.status == 422 and words in refused.value.message


def test_blank_pixels_are_blank_as_a_file_of_them_would_be():
    """JSON pixels are judged blank the way prepare() judges the same image sent as a file."""
    digits, photos = InputSpec(1, 28, 28, preparation="mnist"), InputSpec(3, 8, 8, preparation="fit")
    dark = np.zeros((1, 28, 28), np.float32)
    assert blank_in_input_form(dark, digits)
    assert prepare((dark[0] * 255).astype(np.uint8).astype(np.float32) / 255, digits).blank
    stroke = dark.copy()
    stroke[0, 10:18, 14] = 1.0
    assert not blank_in_input_form(stroke, digits) and not prepare(stroke[0], digits).blank
    faint = dark + 0.1  # below the ink level above its own background
    assert blank_in_input_form(faint, digits)
    grey = np.full((3, 8, 8), 0.4, np.float32)
    assert blank_in_input_form(grey, photos) and prepare(grey.transpose(1, 2, 0), photos).blank
    grey[1, 2, 3] = 0.9
    assert not blank_in_input_form(grey, photos)


def test_json_nested_too_deeply_is_a_400_not_a_traceback():
    from idk.apps.serve_inputs import _json_pixels

    with pytest.raises(RequestError) as refused:
        _json_pixels(b"[" * 200_000, InputSpec(1, 2, 2))
    assert refused.value.status == 400 and "nested too deeply" in refused.value.message


def test_a_file_name_sent_in_utf_8_is_read_back_as_written():
    """HTTP hands a header over as Latin-1: X-Filename: größe ✓.png sent as UTF-8 comes back as
    written (not grÃ¶Ãe); bytes that are no UTF-8 are kept as they came."""
    from idk.apps.serve_inputs import _header_text

    assert _header_text("größe ✓.png".encode().decode("latin-1")) == "größe ✓.png"
    assert _header_text("caf\xe9.png") == "caf\xe9.png"  # Latin-1 é alone: no UTF-8, kept
    assert _header_text(None) is None


def test_numbers_past_what_python_or_numpy_read_are_422_not_a_500():
    """Valid JSON all the same: an integer of over 4,300 digits (Python will not read it) and one past
    float64's range; and an image's name that is not text is refused, not replaced."""
    from idk.apps.serve_inputs import _json_pixels

    spec = InputSpec(1, 2, 2)
    with pytest.raises(RequestError) as refused:
        _json_pixels(b'{"pixels": [[1' + b"0" * 5000 + b", 0], [0, 0]]}", spec)
    assert refused.value.status == 422 and "a number too long to read" in refused.value.message
    with pytest.raises(RequestError) as refused:
        _json_pixels(b'{"pixels": [[1' + b"0" * 400 + b", 0], [0, 0]]}", spec)
    assert refused.value.status == 422 and "pixels-0: holds a number too large" in refused.value.message
    with pytest.raises(RequestError) as refused:
        _json_pixels(b'{"images": [{"pixels": [[0, 0], [0, 0]], "name": 5}]}', spec)
    assert refused.value.status == 422 and refused.value.message == 'image 0: "name" must be text, got int'
    assert _json_pixels(b'{"pixels": [[0, 0], [0, 1]], "name": null}', spec)[0][0] == "pixels-0"  # null: absent
    assert _json_pixels(b'{"pixels": [[0, 0], [0, 1]], "name": "mine"}', spec)[0][0] == "mine"


def _part(disposition: str, data: bytes, kind: str | None = "image/png") -> bytes:
    typed = f"\r\nContent-Type: {kind}" if kind else ""
    return f"--X\r\nContent-Disposition: form-data; {disposition}{typed}\r\n\r\n".encode() + data + b"\r\n"


def test_multipart_images_are_its_files_and_its_image_typed_parts_in_order():
    """Files by ``filename`` (sent in UTF-8) or RFC 6266's ``filename*`` (preferred where both are
    given), image-typed parts without a file name as "upload"; a form's text field passed over."""
    body = b"".join(
        [
            _part('name="a"; filename="größe.png"', b"1"),
            _part("name=\"a\"; filename*=UTF-8''caf%C3%A9.png", b"2"),
            _part('name="a"; filename="x.png"; filename*=UTF-8\'\'%E2%82%AC.png', b"3"),
            _part('name="submit"', b"Send", kind=None),
            _part('name="b"', b"4", kind="application/octet-stream"),
            _part('name="c"; filename=""', b""),  # a form's file input left empty: an empty upload
            _part("name=\"d\"; filename*=ISO-8859-1''caf%E9.png", b"5"),
            # RFC 8187 allows UTF-8 and ISO-8859-1: another charset is not decoded (idna's raised a 500)
            _part('name="e"; filename="plain.png"; filename*=idna\'\'x.png', b"6"),
            _part("name=\"f\"; filename*=undefined''x.png", b"7"),
            b"--X--\r\n",
        ]
    )
    got = multipart_images(body, "multipart/form-data; boundary=X", Limits())
    assert got == [
        ("größe.png", b"1"),
        ("café.png", b"2"),
        ("€.png", b"3"),
        ("upload", b"4"),
        ("upload", b""),
        ("café.png", b"5"),
        ("plain.png", b"6"),
        ("upload", b"7"),
    ]


@pytest.mark.parametrize(
    ("body", "content_type", "status", "words"),
    [
        (_part('name="a"; filename="a.png"', b"1"), "boundary=X", 400, "ends before its closing boundary"),
        (_part('name="a"; filename="a.png"', b"1")[:50], "boundary=X", 400, "ends before"),
        (b"", "boundary=X", 400, "ends before"),
        (b"hello", "boundary=X", 400, "not understood: Expected boundary"),
        (b"--X--\r\n", "", 400, "names no boundary"),
        (
            b"".join(_part(f'name="a"; filename="{i}.png"', b"1") for i in range(4)) + b"--X--\r\n",
            "boundary=X",
            413,
            "at most 3",
        ),
        (
            b"".join(_part(f'name="t{i}"', b"1", None) for i in range(4)) + b"--X--\r\n",
            "boundary=X",
            413,
            "text fields",
        ),
    ],
)
def test_multipart_bodies_cut_short_or_past_the_limits_are_refused(body, content_type, status, words):
    with pytest.raises(RequestError) as refused:
        multipart_images(body, f"multipart/form-data; {content_type}", Limits(max_images=3))
    assert refused.value.status == status and words in refused.value.message


@pytest.mark.parametrize("expect", [False, True])
def test_a_chunked_body_past_the_limit_is_drained_before_the_413(expect):
    """Read on and dropped, so that a client still sending reads the 413, not a reset; with
    ``Expect: 100-continue`` too, once reading the body has told the client to go on."""
    import asyncio

    from starlette.requests import Request

    from idk.apps.serve_inputs import read_body

    sent = [0]

    async def receive():
        sent[0] += 1
        return {"type": "http.request", "body": bytes(1000), "more_body": sent[0] < 100}

    headers = [(b"transfer-encoding", b"chunked")] + ([(b"expect", b"100-continue")] if expect else [])
    request = Request({"type": "http", "method": "POST", "path": "/", "headers": headers}, receive)
    with pytest.raises(RequestError) as refused:
        asyncio.run(read_body(request, Limits(max_upload=5000)))
    assert refused.value.status == 413 and sent[0] == 100
