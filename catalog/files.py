"""Uploaded files: app logos and screenshots, and certification evidence.

Files live on disk under `Config.upload_dir`, named by the SHA-256 of the
stored bytes (`ab/abcdef...`), so the same file uploaded twice is stored once
and a name can never point outside the directory. The database keeps the
hash, the content type and, for evidence, the name the vendor gave.

Images are decoded and encoded anew: that drops EXIF (a phone's GPS position)
and every other metadata block, and leaves nothing of a file that is also
something else (a polyglot). Evidence is kept byte for byte, since it is what
the vendor vouches for; it is checked to be a PDF, PNG or JPEG and is only
ever served as a download.
"""

from __future__ import annotations

import hashlib
import io
import os
import re
import tempfile
import unicodedata
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Literal

from flask import Response, current_app, send_file
from flask_babel import gettext as _
from PIL import Image, ImageOps

from torget.errors import Invalid, NotFound

MB = 1024 * 1024
IMAGE_LIMITS = {"logo": 1 * MB, "screenshot": 5 * MB}
DOCUMENT_LIMIT = 20 * MB
# A 4096 x 4096 RGBA image decodes to 64 MiB; a larger one is no logo or screenshot.
MAX_DIMENSION = 4096
IMAGE_TYPES = {"PNG": "image/png", "JPEG": "image/jpeg", "WEBP": "image/webp"}
DOCUMENT_EXTENSIONS = {"application/pdf": ".pdf", "image/png": ".png", "image/jpeg": ".jpg"}
MAX_FILENAME_LENGTH = 200  # Evidence.filename
_SHA256 = re.compile(r"[0-9a-f]{64}")
_EXTENSION = re.compile(r"\.[A-Za-z0-9]{1,5}$")
# Characters Windows refuses in a file name, and that mean something in a header.
_UNSAFE_IN_FILENAME = '<>:"|?*'
_CHUNK = 1024 * 1024

ImageKind = Literal["logo", "screenshot"]


@dataclass(frozen=True)
class StoredFile:
    """What was stored: the database keeps these fields to find and serve it."""

    sha256: str
    content_type: str
    size: int
    width: int | None = None
    height: int | None = None
    # Evidence only: the vendor's file name, made safe to show and download as.
    filename: str | None = None


def store_image(source: bytes | IO[bytes], kind: ImageKind) -> StoredFile:
    """Store a PNG, JPEG or WebP logo or screenshot, re-encoded without metadata.

    Reads at most one byte past the kind's size limit (1 MB for a logo, 5 MB
    for a screenshot). Raises `Invalid` on the field named `kind` when the
    file is too large, is not one of those formats, is animated, or is
    larger than 4096 x 4096 pixels.
    """
    data = _read_at_most(source, IMAGE_LIMITS[kind], field=kind)
    not_an_image = Invalid(_("Upload a PNG, JPEG or WebP image."), field=kind)
    try:
        # Only these decoders run: Pillow's others parse formats we never serve.
        with Image.open(io.BytesIO(data), formats=list(IMAGE_TYPES)) as probe:
            image_format = probe.format or ""
            _check_dimensions(probe.size, field=kind)
            if getattr(probe, "n_frames", 1) > 1:
                raise Invalid(_("Upload a still image, not an animation."), field=kind)
            probe.verify()
        # verify() leaves the image unusable; decoding it in full is a second check.
        with Image.open(io.BytesIO(data), formats=[image_format]) as image:
            image.load()
            encoded, size = _encode_without_metadata(image, image_format)
    except Invalid:
        raise
    except Image.DecompressionBombError:
        raise _too_many_pixels(kind) from None
    except Exception:  # crafted input makes Pillow raise errors of many kinds
        raise not_an_image from None
    digest = _write(encoded)
    return StoredFile(
        sha256=digest,
        content_type=IMAGE_TYPES[image_format],
        size=len(encoded),
        width=size[0],
        height=size[1],
    )


def store_document(source: bytes | IO[bytes], filename: str) -> StoredFile:
    """Store certification evidence (PDF, PNG or JPEG, at most 20 MB) as it is.

    `filename` is kept only as the name to show and download as: its
    directories, control characters and extension go, and the extension of
    the real type is added. Raises `Invalid` on the field `file`.
    """
    data = _read_at_most(source, DOCUMENT_LIMIT, field="file")
    content_type = _document_type(data)
    if content_type is None:
        raise Invalid(_("Upload a PDF, PNG or JPEG file."), field="file")
    digest = _write(data)
    return StoredFile(
        sha256=digest,
        content_type=content_type,
        size=len(data),
        filename=safe_filename(filename, content_type),
    )


def open_stored(sha256: str) -> Path:
    """The path of a stored file; `NotFound` for anything that is not a stored file's hash.

    Only 64 lower-case hex digits name a file, so nothing a client sends can
    lead out of the upload directory (`../`, `/etc/passwd`, `%2e%2e`).
    """
    if not isinstance(sha256, str) or not _SHA256.fullmatch(sha256):
        raise NotFound()
    path = _path(sha256)
    if not path.is_file():
        raise NotFound()
    return path


def send_stored(sha256: str, content_type: str, *, download_name: str | None = None) -> Response:
    """The response that serves a stored file, for a view to return.

    With `download_name` (evidence) it is a download (`Content-Disposition:
    attachment`), never shown in the page's origin; without, an image shown
    inline. Either way the browser must not guess another type (`nosniff`).
    """
    response = send_file(
        open_stored(sha256),
        mimetype=content_type,
        as_attachment=download_name is not None,
        download_name=download_name,
        conditional=True,
        etag=sha256,
    )
    response.headers["X-Content-Type-Options"] = "nosniff"
    if download_name is not None:
        # Evidence (pen-test reports, DPIAs) is for the reviewer: no shared cache keeps it.
        response.cache_control.private = True
    return response


def safe_filename(filename: str, content_type: str) -> str:
    """`filename` fit to show and to download as, ending in `content_type`'s extension.

    Keeps letters of any language (`Risikovurdering æøå.pdf`); drops
    directories, control and invisible characters (a right-to-left override
    makes `fdp.exe` read as `exe.pdf`), and replaces the extension with the
    real type's, so a PDF named `report.html` is saved as `report.pdf`.
    """
    extension = DOCUMENT_EXTENSIONS[content_type]
    name = unicodedata.normalize("NFC", filename).replace("\\", "/").rsplit("/", 1)[-1]
    name = "".join(
        " " if unicodedata.category(c).startswith("Z") else c
        for c in name
        if not unicodedata.category(c).startswith("C") and c not in _UNSAFE_IN_FILENAME
    )
    stem = _EXTENSION.sub("", " ".join(name.split())).strip(" .")
    stem = stem[: MAX_FILENAME_LENGTH - len(extension)].rstrip(" .")
    return (stem or "document") + extension


def _read_at_most(source: bytes | IO[bytes], limit: int, *, field: str) -> bytes:
    """All of `source`, or `Invalid` as soon as it is longer than `limit` bytes."""
    if isinstance(source, bytes):
        data = source
    else:
        chunks: list[bytes] = []
        total = 0
        # Stop one byte past the limit: a 50 MB upload costs limit + 1 bytes of memory.
        while total <= limit:
            chunk = source.read(min(_CHUNK, limit + 1 - total))
            if not chunk:
                break
            chunks.append(chunk)
            total += len(chunk)
        data = b"".join(chunks)
    if len(data) > limit:
        raise Invalid(_("The file is larger than %(n)d MB.", n=limit // MB), field=field)
    return data


def _check_dimensions(size: tuple[int, int], *, field: str) -> None:
    # Read from the header, before any pixel is decoded: a small file can
    # claim 100 000 x 100 000 pixels and expand to gigabytes (a decompression bomb).
    if max(size) > MAX_DIMENSION:
        raise _too_many_pixels(field)


def _too_many_pixels(field: str) -> Invalid:
    return Invalid(
        _("An image is at most %(n)d x %(n)d pixels.", n=MAX_DIMENSION),
        field=field,
    )


def _encode_without_metadata(
    image: Image.Image, image_format: str
) -> tuple[bytes, tuple[int, int]]:
    # A phone's photo is stored sideways with an orientation tag; turn the
    # pixels before the tag goes with the rest of the EXIF data.
    image = ImageOps.exif_transpose(image)
    if image_format == "JPEG" and image.mode not in {"L", "RGB"}:
        image = image.convert("RGB")  # CMYK JPEGs show wrongly in browsers
    # The encoders copy some metadata (ICC profile, XMP, comments) from
    # `info`; only a palette's transparency is part of the picture.
    kept = {"transparency": image.info["transparency"]} if "transparency" in image.info else {}
    image.info = kept
    output = io.BytesIO()
    options = {"quality": 90} if image_format in {"JPEG", "WEBP"} else {}
    image.save(output, format=image_format, **options)
    return output.getvalue(), image.size


def _document_type(data: bytes) -> str | None:
    """The content type the file's first bytes announce, if its structure bears it out."""
    if data.startswith(b"%PDF-"):
        return "application/pdf"
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        content_type, decoder = "image/png", "PNG"
    elif data.startswith(b"\xff\xd8\xff"):
        content_type, decoder = "image/jpeg", "JPEG"
    else:
        return None
    try:
        with Image.open(io.BytesIO(data), formats=[decoder]) as image:
            # Checks the structure (PNG chunk checksums) without decoding pixels.
            image.verify()
    except Exception:  # crafted input makes Pillow raise errors of many kinds
        return None
    return content_type


def _path(sha256: str) -> Path:
    # Two hex digits of fan-out keep any one directory to a few thousand entries.
    return Path(current_app.config["TORGET"].upload_dir) / sha256[:2] / sha256


def _write(data: bytes) -> str:
    """Store `data` under its SHA-256 and return the hash. Safe to call twice."""
    digest = hashlib.sha256(data).hexdigest()
    path = _path(digest)
    if path.is_file():
        return digest  # the same bytes are stored already
    # mkdir(parents=True) would give the upload directory itself the default mode.
    path.parent.parent.mkdir(mode=0o750, parents=True, exist_ok=True)
    path.parent.mkdir(mode=0o750, exist_ok=True)
    # Written beside its final name, then renamed: a reader sees the whole
    # file or none, even when two workers store the same file at once.
    fd, temporary = tempfile.mkstemp(dir=path.parent, prefix=".upload-")
    try:
        os.fchmod(fd, 0o640)
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
    # The rename is durable only once the directory is on disk too.
    directory = os.open(path.parent, os.O_RDONLY)
    try:
        os.fsync(directory)
    finally:
        os.close(directory)
    return digest
