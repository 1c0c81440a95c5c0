"""Outside images brought to a model's input form: MNIST's recipe, Fashion-MNIST's, and fit-and-pad."""

from __future__ import annotations

import io

import numpy as np
import pytest
from PIL import Image

from idk.data.images import InputSpec
from idk.data.imaging import is_colour, open_image
from idk.data.preparation import blank_in_input_form, fit, prepare, prepared_or_error, to_fashion_mnist
from idk.errors import ImageError

FASHION = InputSpec(1, 28, 28, "fashion-mnist", flip_invariant=True)


def _png(img: Image.Image) -> bytes:
    buf = io.BytesIO()
    img.save(buf, format="PNG")
    return buf.getvalue()


def _product_photo(width: int = 300, height: int = 200) -> Image.Image:
    """A dark-blue bag-like box on a white page, off centre."""
    img = Image.new("RGB", (width, height), (255, 255, 255))
    img.paste((20, 30, 120), (40, 30, 160, 190))
    return img


def test_fashion_recipe_trims_shrinks_centres_and_negates():
    prepared = prepare(_png(_product_photo()), FASHION)
    px = prepared.pixels[0]
    assert prepared.pixels.shape == (1, 28, 28) and prepared.inverted and not prepared.blank
    assert px[0, 0] == pytest.approx(0.0, abs=0.02)  # the white page became black
    rows, cols = np.nonzero(px > 0.3)
    assert rows.min() == 0 and rows.max() == 27  # the longest edge (the box's height) fills the frame
    assert abs((cols.min() + cols.max()) / 2 - 13.5) <= 1  # centred across
    assert 14 <= cols.max() - cols.min() + 1 <= 23  # aspect kept: 120 × 160 → about 21 × 28


def test_fashion_recipe_on_a_blank_page_is_blank():
    assert prepare(_png(Image.new("RGB", (50, 80), "white")), FASHION).blank
    assert to_fashion_mnist(np.ones((10, 10, 3), np.float32)).blank


def test_a_fashion_mnist_image_shown_as_a_photo_keeps_its_shape(data_cfg):
    """A Fashion-MNIST test item, negated and enlarged (a product photo), comes back close to itself."""
    from idk.data.named import named_split

    item = named_split("fashion-mnist", "test", data_cfg).pixels(0)[0].numpy()  # an ankle boot
    photo = Image.fromarray((255 * (1 - item)).astype(np.uint8)).resize((112, 112), Image.Resampling.NEAREST)
    back = prepare(_png(photo.convert("RGB")), FASHION).pixels[0]
    assert np.corrcoef(back.ravel(), item.ravel())[0, 1] > 0.7


def test_fit_keeps_the_aspect_ratio_and_pads_with_the_border_colour():
    pixels = np.zeros((40, 80, 3), np.float32)
    pixels[...] = (0.2, 0.4, 0.6)
    pixels[10:30, 30:50] = (1.0, 0.0, 0.0)
    out = fit(pixels, InputSpec(3, 32, 32, "fit")).pixels
    assert out.shape == (3, 32, 32)
    np.testing.assert_allclose(out[:, 0, 0], (0.2, 0.4, 0.6), atol=0.01)  # padding: the border's colour
    red = (out[0] > 0.8) & (out[1] < 0.2)
    rows, cols = np.nonzero(red)
    assert abs(rows.mean() - 15.5) < 1 and abs(cols.mean() - 15.5) < 1  # still centred, still square
    assert abs((rows.max() - rows.min()) - (cols.max() - cols.min())) <= 1


def test_fit_converts_between_greyscale_and_colour():
    grey = np.linspace(0, 1, 64, dtype=np.float32).reshape(8, 8)
    colour = fit(grey, InputSpec(3, 8, 8, "fit")).pixels
    assert colour.shape == (3, 8, 8) and np.allclose(colour[0], colour[2])
    back = fit(np.repeat(grey[..., None], 3, -1), InputSpec(1, 8, 8, "fit")).pixels
    np.testing.assert_allclose(back[0], grey, atol=1e-5)


@pytest.mark.parametrize("mode", ["RGB", "RGBA", "P", "L", "1", "I;16"])
def test_colour_decoding_of_every_mode(mode):
    img = (
        Image.new("RGB", (30, 20), (200, 50, 50)).convert(mode)
        if mode != "I;16"
        else Image.new("I;16", (30, 20), 30000)
    )
    rgb = open_image(_png(img), colour=True)
    assert rgb.shape == (20, 30, 3) and rgb.dtype == np.float32 and 0 <= rgb.min() and rgb.max() <= 1
    assert is_colour(rgb) == (mode in ("RGB", "RGBA", "P"))


def test_a_greyscale_upload_to_a_colour_model_is_converted_not_refused():
    prepared = prepare(_png(Image.new("L", (64, 48), 128)), InputSpec(3, 32, 32, "fit"))
    assert prepared.pixels.shape == (3, 32, 32) and np.allclose(prepared.pixels, 128 / 255, atol=0.01)


@pytest.mark.parametrize("preparation", ["fit", "mnist", "fashion-mnist"])
def test_pixels_given_as_integers_are_read_as_their_range(preparation):
    """Decoded pixels from the Python API: uint8 (0–255) and uint16 (0–65535) are the same image
    as floats in [0, 1], whatever the model's preparation."""
    rng = np.random.default_rng(0)
    grey = rng.random((30, 20)).astype(np.float32)
    spec = InputSpec(1, 28, 28, preparation)
    as_float = prepare(grey, spec).pixels
    as_uint8 = prepare((grey * 255).round().astype(np.uint8), spec).pixels
    as_uint16 = prepare((grey * 65535).round().astype(np.uint16), spec).pixels
    # within one 8-bit step (the MNIST recipe rounds to 8 bits)
    assert np.abs(as_uint8 - as_float).max() < 0.01 and np.abs(as_uint16 - as_float).max() < 0.005


def test_a_page_of_one_colour_is_blank_whatever_its_colour():
    """Flat is judged channel by channel: a red or green page holds nothing to classify, as a grey
    one does (its channels differ from each other, but none varies)."""
    colour, grey = InputSpec(3, 32, 32, "fit"), InputSpec(1, 32, 32, "fit")
    for page in ((200, 30, 30), (0, 255, 0), (128, 128, 128)):
        png = _png(Image.new("RGB", (40, 1000), page))
        assert prepare(png, colour).blank and prepare(png, grey).blank
        in_form = np.empty((3, 32, 32), np.float32)
        in_form[:] = np.array(page, np.float32)[:, None, None] / 255
        assert blank_in_input_form(in_form, colour)
    drawn = Image.new("RGB", (40, 40), (200, 30, 30))
    drawn.paste((30, 30, 200), (10, 10, 30, 30))  # a blue square on the red page
    assert not prepare(_png(drawn), colour).blank


def test_a_set_holds_nearly_one_colour_images_from_a_twentieth_of_them(monkeypatch):
    """Swatches (one colour, a stray pixel) are nearly flat, noise is not; a set is said to hold them
    from NEARLY_FLAT_SHARE (5%) of its images: 2 of 50 no, 3 of 50 yes; judged a chunk at a time
    (the same answers one image at a time), and of 8-bit levels as of their floats."""
    from idk.data.preparation import flat_images_seen

    rng = np.random.default_rng(0)
    swatches = np.ones((50, 3, 16, 16), np.float32) * rng.random((50, 3, 1, 1)).astype(np.float32)
    swatches[:, :, 3, 4] = rng.random((50, 3))  # one stray pixel: under the 95th percentile's reach
    noise = rng.random((50, 3, 16, 16)).astype(np.float32)
    assert flat_images_seen(swatches) and not flat_images_seen(noise) and not flat_images_seen(noise[:0])
    assert not flat_images_seen(np.concatenate([noise[:48], swatches[:2]]))
    assert flat_images_seen(np.concatenate([noise[:47], swatches[:3]]))
    from idk.data import preparation

    monkeypatch.setattr(preparation, "FLAT_CHUNK", 1)
    assert not flat_images_seen(np.concatenate([noise[:48], swatches[:2]]))
    assert flat_images_seen(np.concatenate([noise[:47], swatches[:3]]))
    levels = (np.concatenate([noise[:47], swatches[:3]]) * 255).round().astype(np.uint8)
    assert flat_images_seen(levels) and not flat_images_seen((noise * 255).round().astype(np.uint8))


def test_a_batchs_unreadable_file_is_its_error_not_a_raise():
    spec = InputSpec(channels=1, height=28, width=28, preparation="mnist")
    digit = _png(Image.new("L", (40, 40), 255))
    assert prepared_or_error(digit, spec, "a.png").pixels.shape == (1, 28, 28)
    err = prepared_or_error(b"not an image", spec, "b.png")
    assert isinstance(err, ImageError) and "b.png" in str(err)
