"""Uploads on disk: images re-encoded without metadata, evidence as sent, served safely."""

from __future__ import annotations

import hashlib
import io
import os
import struct
import zlib
from pathlib import Path

import pytest
from PIL import ExifTags, Image, ImageCms
from PIL.PngImagePlugin import PngInfo

from catalog.files import (
    MB,
    StoredFile,
    open_stored,
    safe_filename,
    send_stored,
    store_document,
    store_image,
)
from tests.conftest import make_app
from torget.errors import Invalid, NotFound

# Messages are compared in English, the source language.
pytestmark = pytest.mark.usefixtures("english")

OSLO = (59.0, 54.0, 50.0)


@pytest.fixture
def uploads(tmp_path) -> Path:
    return tmp_path / "uploads"


@pytest.fixture
def app(tmp_path, uploads):
    """An app whose uploads go to a directory of this test's own (not created yet)."""
    app = make_app(f"sqlite:///{tmp_path / 'unused.db'}", tmp_path, upload_dir=str(uploads))
    with app.app_context():
        yield app


def image_bytes(image_format: str, size: tuple[int, int] = (64, 32), **options: object) -> bytes:
    mode = "RGBA" if image_format in {"PNG", "WEBP"} else "RGB"
    output = io.BytesIO()
    image = Image.new(mode, size, (200, 30, 30, 255) if mode == "RGBA" else (200, 30, 30))
    image.save(output, format=image_format, **options)
    return output.getvalue()


def gps_exif(orientation: int = 1) -> Image.Exif:
    """EXIF as a phone writes it: camera, orientation and where the photo was taken."""
    exif = Image.Exif()
    exif[ExifTags.Base.Make] = "Telefon"
    exif[ExifTags.Base.Orientation] = orientation
    gps = exif.get_ifd(ExifTags.IFD.GPSInfo)
    gps[ExifTags.GPS.GPSLatitudeRef] = "N"
    gps[ExifTags.GPS.GPSLatitude] = OSLO
    gps[ExifTags.GPS.GPSLongitudeRef] = "E"
    gps[ExifTags.GPS.GPSLongitude] = (10.0, 45.0, 9.0)
    return exif


def _noise_png() -> bytes:
    output = io.BytesIO()
    Image.frombytes("RGB", (64, 64), os.urandom(64 * 64 * 3)).save(output, "PNG")
    return output.getvalue()


# Random pixels do not compress: half the file is half the picture.
NOISE = _noise_png()


def reopen(stored: StoredFile) -> Image.Image:
    return Image.open(open_stored(stored.sha256))


class LazyStream(io.RawIOBase):
    """`size` bytes made as they are read, counting how many were."""

    def __init__(self, size: int, head: bytes = b"") -> None:
        self.remaining = size
        self.head = head
        self.consumed = 0

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:
        count = min(len(buffer), self.remaining)
        chunk = (self.head + b"\0" * count)[:count]
        self.head = self.head[count:]
        buffer[:count] = chunk
        self.remaining -= count
        self.consumed += count
        return count


def png_header_claiming(width: int, height: int) -> bytes:
    """A tiny PNG whose header claims a huge image: a decompression bomb's shape."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return (
            struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
        )

    header = struct.pack(">IIBBBBB", width, height, 1, 0, 0, 0, 0)
    idat = zlib.compress(b"\0" * 1024)
    return (
        b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", idat) + chunk(b"IEND", b"")
    )


# --- images --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("image_format", "content_type"),
    [("PNG", "image/png"), ("JPEG", "image/jpeg"), ("WEBP", "image/webp")],
)
def test_an_image_is_stored_under_its_hash(app, uploads, image_format, content_type):
    stored = store_image(image_bytes(image_format), "logo")
    path = uploads / stored.sha256[:2] / stored.sha256
    assert path.is_file()
    assert hashlib.sha256(path.read_bytes()).hexdigest() == stored.sha256
    assert (stored.content_type, stored.size) == (content_type, path.stat().st_size)
    assert (stored.width, stored.height) == (64, 32)
    assert stored.filename is None
    assert reopen(stored).format == image_format


def test_a_stored_file_is_0640_and_leaves_no_temporary_file(app, uploads):
    stored = store_image(image_bytes("PNG"), "screenshot")
    path = open_stored(stored.sha256)
    assert path.stat().st_mode & 0o777 == 0o640
    assert os.listdir(path.parent) == [stored.sha256]
    # Created as needed, and closed to other users (whatever the umask adds).
    for directory in (uploads, path.parent):
        assert directory.stat().st_mode & 0o007 == 0


def test_the_same_image_twice_is_one_file(app, uploads):
    first = store_image(image_bytes("PNG"), "logo")
    second = store_image(io.BytesIO(image_bytes("PNG")), "logo")
    assert first == second
    assert sum(len(files) for _, _, files in os.walk(uploads)) == 1


@pytest.mark.parametrize("image_format", ["JPEG", "PNG", "WEBP"])
def test_exif_and_gps_are_gone_after_storing(app, image_format):
    original = image_bytes(image_format, exif=gps_exif())
    assert dict(Image.open(io.BytesIO(original)).getexif().get_ifd(ExifTags.IFD.GPSInfo))
    stored = store_image(original, "screenshot")
    image = reopen(stored)
    assert "exif" not in image.info
    assert not image.getexif()
    assert not image.getexif().get_ifd(ExifTags.IFD.GPSInfo)
    raw = open_stored(stored.sha256).read_bytes()
    assert b"Exif" not in raw
    assert b"Telefon" not in raw


def test_other_jpeg_metadata_is_gone_too(app):
    output = io.BytesIO()
    srgb = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()
    Image.new("RGB", (40, 40), "blue").save(
        output, "JPEG", icc_profile=srgb, comment=b"made at Storgata 1", xmp=b"<x:xmpmeta/>"
    )
    assert {"icc_profile", "comment", "xmp"} <= set(Image.open(output).info)
    stored = store_image(output.getvalue(), "logo")
    assert not {"icc_profile", "comment", "xmp"} & set(reopen(stored).info)
    assert b"Storgata" not in open_stored(stored.sha256).read_bytes()


def test_png_text_chunks_are_gone_too(app):
    text = PngInfo()
    text.add_text("Author", "Kari Nordmann, Storgata 1")
    text.add_itxt("Comment", "pasient 12345678901")
    output = io.BytesIO()
    Image.new("RGB", (40, 40), "blue").save(output, "PNG", pnginfo=text)
    assert {"Author", "Comment"} <= set(Image.open(output).info)
    stored = store_image(output.getvalue(), "logo")
    assert not {"Author", "Comment"} & set(reopen(stored).info)
    assert b"Storgata" not in open_stored(stored.sha256).read_bytes()


def test_a_sideways_photo_is_turned_before_its_orientation_tag_goes(app):
    # Orientation 6: the camera stored it rotated; viewers turn it 90°.
    stored = store_image(image_bytes("JPEG", (64, 32), exif=gps_exif(orientation=6)), "logo")
    assert (stored.width, stored.height) == (32, 64)
    assert reopen(stored).size == (32, 64)


def test_a_polyglot_loses_everything_that_is_not_the_picture(app):
    # A valid PNG with an HTML page after its end: a browser sniffing it would run it.
    polyglot = image_bytes("PNG") + b"<html><script>alert(document.cookie)</script></html>"
    stored = store_image(polyglot, "logo")
    assert b"<script>" not in open_stored(stored.sha256).read_bytes()


def test_a_palette_png_keeps_its_transparency(app):
    output = io.BytesIO()
    Image.new("P", (16, 16), 0).save(output, "PNG", transparency=0)
    assert reopen(store_image(output.getvalue(), "logo")).info.get("transparency") == 0


def test_a_cmyk_jpeg_is_stored_as_rgb(app):
    output = io.BytesIO()
    Image.new("CMYK", (16, 16), (0, 255, 255, 0)).save(output, "JPEG")
    assert reopen(store_image(output.getvalue(), "logo")).mode == "RGB"


@pytest.mark.parametrize(
    "data",
    [
        b"just some text, named logo.png by its sender\n" * 10,
        b"",
        NOISE[: len(NOISE) // 2],  # truncated
        image_bytes("GIF"),
        image_bytes("BMP"),
        b'<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>',
        b"%PDF-1.7\n",
    ],
    ids=["text", "empty", "truncated", "gif", "bmp", "svg", "pdf"],
)
def test_anything_but_png_jpeg_or_webp_is_refused(app, uploads, data):
    with pytest.raises(Invalid) as caught:
        store_image(data, "logo")
    assert caught.value.fields == {"logo": ["Upload a PNG, JPEG or WebP image."]}
    assert not uploads.exists()


def test_an_animation_is_refused(app):
    output = io.BytesIO()
    frames = [Image.new("RGB", (8, 8), colour) for colour in ("red", "blue")]
    frames[0].save(output, "PNG", save_all=True, append_images=frames[1:])
    with pytest.raises(Invalid, match="still image"):
        store_image(output.getvalue(), "screenshot")


@pytest.mark.parametrize(
    "data",
    [
        png_header_claiming(100_000, 100_000),  # past Pillow's own bomb limit
        png_header_claiming(4097, 10),
        png_header_claiming(10, 20_000),
    ],
    ids=["gigapixel-header", "too-wide", "too-tall"],
)
def test_a_decompression_bomb_is_refused_before_decoding(app, data):
    with pytest.raises(Invalid) as caught:
        store_image(data, "screenshot")
    assert caught.value.fields == {"screenshot": ["An image is at most 4096 x 4096 pixels."]}


def test_a_real_bomb_made_with_pillow_is_refused(app):
    # 6000 x 6000 one-bit pixels compress to a few kilobytes.
    output = io.BytesIO()
    Image.new("1", (6000, 6000)).save(output, "PNG")
    assert len(output.getvalue()) < 100_000
    with pytest.raises(Invalid, match="at most 4096 x 4096"):
        store_image(output.getvalue(), "screenshot")


def test_an_image_of_exactly_the_maximum_size_is_accepted(app):
    output = io.BytesIO()
    Image.new("L", (4096, 16)).save(output, "PNG")
    assert store_image(output.getvalue(), "screenshot").width == 4096


@pytest.mark.parametrize(("kind", "limit"), [("logo", 1 * MB), ("screenshot", 5 * MB)])
def test_a_50_mb_upload_is_refused_after_reading_just_past_the_limit(app, kind, limit):
    stream = LazyStream(50 * MB, head=image_bytes("PNG"))
    with pytest.raises(Invalid) as caught:
        store_image(stream, kind)
    assert caught.value.fields == {kind: [f"The file is larger than {limit // MB} MB."]}
    assert stream.consumed == limit + 1


def test_bytes_over_the_limit_are_refused(app):
    with pytest.raises(Invalid, match="larger than 1 MB"):
        store_image(b"\0" * (MB + 1), "logo")


# --- evidence documents --------------------------------------------------------------

PDF = (
    b"%PDF-1.4\n1 0 obj<</Type/Catalog/Pages 2 0 R>>endobj\n"
    b"2 0 obj<</Type/Pages/Kids[]/Count 0>>endobj\ntrailer<</Root 1 0 R>>\n%%EOF\n"
)


def test_a_pdf_is_stored_byte_for_byte(app):
    stored = store_document(PDF, "Pentest 2026.pdf")
    assert stored.sha256 == hashlib.sha256(PDF).hexdigest()
    assert (stored.content_type, stored.size) == ("application/pdf", len(PDF))
    assert stored.filename == "Pentest 2026.pdf"
    assert open_stored(stored.sha256).read_bytes() == PDF


@pytest.mark.parametrize(
    ("image_format", "content_type", "name"),
    [("PNG", "image/png", "skjermbilde.png"), ("JPEG", "image/jpeg", "skjermbilde.jpg")],
)
def test_png_and_jpeg_evidence_is_kept_as_sent(app, image_format, content_type, name):
    data = image_bytes(image_format, exif=gps_exif())
    stored = store_document(io.BytesIO(data), f"skjermbilde.{image_format.lower()}")
    assert (stored.content_type, stored.filename) == (content_type, name)
    assert open_stored(stored.sha256).read_bytes() == data


@pytest.mark.parametrize(
    "data",
    [
        b"This is a text file, named report.pdf by its sender.\n",
        b"<html>%PDF-1.7</html>",
        b"\x89PNG\r\n\x1a\n" + b"\0" * 100,
        b"\xff\xd8\xff" + b"\0" * 100,
        image_bytes("WEBP"),
        b"",
    ],
    ids=["text", "html-with-magic-later", "png-magic-only", "jpeg-magic-only", "webp", "empty"],
)
def test_a_document_must_really_be_pdf_png_or_jpeg(app, uploads, data):
    with pytest.raises(Invalid) as caught:
        store_document(data, "report.pdf")
    assert caught.value.fields == {"file": ["Upload a PDF, PNG or JPEG file."]}
    assert not uploads.exists()


def test_a_50_mb_document_is_refused_after_reading_just_past_20_mb(app):
    stream = LazyStream(50 * MB, head=b"%PDF-1.7\n")
    with pytest.raises(Invalid, match="larger than 20 MB"):
        store_document(stream, "big.pdf")
    assert stream.consumed == 20 * MB + 1


@pytest.mark.parametrize(
    ("given", "kept"),
    [
        ("Risikovurdering æøå.pdf", "Risikovurdering æøå.pdf"),
        ("../../etc/passwd", "passwd.pdf"),
        ("C:\\Users\\kari\\DPIA v2.1.PDF", "DPIA v2.1.pdf"),
        ("report.html", "report.pdf"),
        ("invoice\u202efdp.exe", "invoicefdp.pdf"),  # a right-to-left override
        ('x"; filename="evil.exe', "x; filename=evil.pdf"),
        ("line\r\nbreak\t.pdf", "linebreak.pdf"),
        ("  .hidden  ", "hidden.pdf"),
        ("", "document.pdf"),
        ("....", "document.pdf"),
        ("a" * 300 + ".pdf", "a" * 196 + ".pdf"),
    ],
)
def test_the_filename_is_made_safe_to_show_and_download(given, kept):
    assert safe_filename(given, "application/pdf") == kept


def test_the_extension_follows_the_real_type():
    assert safe_filename("scan.pdf", "image/jpeg") == "scan.jpg"
    assert safe_filename("scan", "image/png") == "scan.png"


# --- finding and serving ---------------------------------------------------------------


@pytest.mark.parametrize(
    "name",
    [
        "../../../etc/passwd",
        "..",
        "/etc/passwd",
        "%2e%2e%2f%2e%2e%2fetc%2fpasswd",
        "A" * 64,
        "a" * 63,
        "a" * 65,
        "a" * 64 + "\n",
        "a" * 62 + "/x",
        "",
    ],
)
def test_only_a_stored_files_hash_names_it(app, name):
    with pytest.raises(NotFound):
        open_stored(name)


def test_a_hash_that_was_never_stored_is_not_found(app):
    with pytest.raises(NotFound):
        open_stored(hashlib.sha256(b"never uploaded").hexdigest())


def test_an_image_is_served_inline_with_its_type_and_nosniff(app):
    stored = store_image(image_bytes("PNG"), "logo")
    with app.test_request_context():
        response = send_stored(stored.sha256, stored.content_type)
        response.direct_passthrough = False
        assert response.mimetype == "image/png"
        assert response.headers["X-Content-Type-Options"] == "nosniff"
        assert response.headers["Content-Disposition"].startswith("inline;")
        assert response.get_data() == open_stored(stored.sha256).read_bytes()
        response.close()


def test_a_document_is_served_as_an_attachment_with_its_safe_name(app):
    stored = store_document(PDF, "../Risikovurdering æøå.html")
    with app.test_request_context():
        response = send_stored(stored.sha256, stored.content_type, download_name=stored.filename)
        response.close()
    disposition = response.headers["Content-Disposition"]
    assert disposition.startswith("attachment;")
    assert "filename*=UTF-8''Risikovurdering%20%C3%A6%C3%B8%C3%A5.pdf" in disposition
    assert response.mimetype == "application/pdf"
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.cache_control.private


def test_a_client_with_the_file_gets_304(app):
    stored = store_image(image_bytes("PNG"), "logo")
    with app.test_request_context(headers={"If-None-Match": f'"{stored.sha256}"'}):
        response = send_stored(stored.sha256, stored.content_type)
        response.close()
    assert response.status_code == 304
