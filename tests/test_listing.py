"""Which files of a folder are read as images: by their endings, hidden and system files passed
over unsaid, the others said in one line."""

from __future__ import annotations

import io

import pytest
from PIL import Image

from idk.data.listing import list_images
from idk.errors import ImageError


def _save(img: Image.Image) -> bytes:
    buf = io.BytesIO()
    img.save(buf, format="PNG")
    return buf.getvalue()


def test_list_images(tmp_path):
    (tmp_path / "a").mkdir()
    (tmp_path / "a" / "x.png").write_bytes(_save(Image.new("L", (5, 5))))
    (tmp_path / "a" / "notes.txt").write_text("hi")
    (tmp_path / "b").mkdir()
    for name in ("y.jfif", "z.HEIC", "noext", "Thumbs.db"):
        (tmp_path / "a" / name).write_bytes(_save(Image.new("L", (5, 5))))
    (tmp_path / "a" / "gone.png").symlink_to(tmp_path / "nowhere.png")
    said: list[str] = []
    assert [p.name for p in list_images([str(tmp_path / "a")], said.append)] == ["x.png"]
    # the files not read are said in one line (a file given by its path is tried whatever its name);
    # Thumbs.db, as hidden files, is passed over unsaid
    assert said == [
        f"{tmp_path / 'a'}: 5 files not read: gone.png (a link to nothing, or a loop of links); noext (not an image file name); "
        "notes.txt (not an image file name); y.jfif (not an image file name); z.HEIC (not an image file name) "
        "(images are read by their names' endings, .png, .jpg, .jpeg, .bmp, .gif, .webp, .tif, .tiff; give a "
        "file by its path to try it whatever its name)"
    ]
    for name in ("y.jfif", "z.HEIC", "noext", "Thumbs.db", "gone.png"):
        (tmp_path / "a" / name).unlink()
    with pytest.raises(ImageError, match="directory has no images"):
        list_images([str(tmp_path / "b")])
    with pytest.raises(ImageError, match="pattern matches no files"):
        list_images([str(tmp_path / "*.jpg")])
    assert len(list_images([str(tmp_path / "a" / "*.png")])) == 1
    # a folder's sub-folders are read, its hidden files and folders not (as training leaves them out)
    for folder in ("a/sub", "a/.ipynb_checkpoints", "a/sub/.cache", "a/__MACOSX", "a/sub/@eaDir"):
        (tmp_path / folder).mkdir()
        (tmp_path / folder / "y.png").write_bytes(_save(Image.new("L", (5, 5))))
    (tmp_path / "a" / ".z.png").write_bytes(_save(Image.new("L", (5, 5))))
    found = [p.relative_to(tmp_path / "a").as_posix() for p in list_images([str(tmp_path / "a")])]
    assert found == ["sub/y.png", "x.png"]
    hidden_root = tmp_path / ".hidden-root"  # a hidden folder named itself is read
    hidden_root.mkdir()
    (hidden_root / "w.png").write_bytes(_save(Image.new("L", (5, 5))))
    assert [p.name for p in list_images([str(hidden_root)])] == ["w.png"]
