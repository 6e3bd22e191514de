"""Medical document files: what we accept, and how the bytes are kept.

The type of a file is read from its first bytes, never from its name or from the
Content-Type the browser claims. Accepted files are encrypted with the field keys
and written to the default storage under a random name; there is no public URL
for them: `patients.views.document_download` serves them after its checks.
"""

import hashlib
import secrets
from dataclasses import dataclass

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.template.defaultfilters import filesizeformat
from django.utils.translation import gettext as _

from conciergerie import crypto

STORAGE_DIRECTORY = "patient-documents"


@dataclass(frozen=True)
class FileType:
    content_type: str
    extension: str


PDF = FileType("application/pdf", "pdf")
JPEG = FileType("image/jpeg", "jpg")
PNG = FileType("image/png", "png")
WEBP = FileType("image/webp", "webp")
HEIC = FileType("image/heic", "heic")
TIFF = FileType("image/tiff", "tif")
DICOM = FileType("application/dicom", "dcm")

ACCEPTED_LABEL = "PDF, JPEG, PNG, WebP, HEIC, TIFF, DICOM"
_HEIF_BRANDS = {b"heic", b"heix", b"hevc", b"heim", b"heis", b"mif1", b"msf1"}

# Programs and scripts, whatever name they travel under.
_EXECUTABLE_SIGNATURES = (
    b"MZ",  # Windows PE / DOS
    b"\x7fELF",  # Linux
    b"\xfe\xed\xfa\xce",  # Mach-O
    b"\xfe\xed\xfa\xcf",
    b"\xce\xfa\xed\xfe",
    b"\xcf\xfa\xed\xfe",
    b"\xca\xfe\xba\xbe",  # Mach-O universal, Java class
    b"#!",  # Unix scripts
    b"\x00asm",  # WebAssembly
    b"L\x00\x00\x00\x01\x14\x02\x00",  # Windows shortcut
)


def sniff(data: bytes) -> FileType | None:
    """The type of a file from its content, or None if we do not accept it."""
    if data.startswith(b"%PDF-"):
        return PDF
    if data.startswith(b"\xff\xd8\xff"):
        return JPEG
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        return PNG
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return WEBP
    if data[4:8] == b"ftyp" and data[8:12] in _HEIF_BRANDS:
        return HEIC
    if data[:4] in (b"II*\x00", b"MM\x00*"):
        return TIFF
    if data[128:132] == b"DICM":
        return DICOM
    return None


def is_executable(data: bytes) -> bool:
    return data.startswith(_EXECUTABLE_SIGNATURES)


def read_upload(upload) -> tuple[bytes, FileType]:
    """Check an uploaded file and return its bytes and real type.

    Raises a ValidationError (on the `file` field) for an empty, oversized,
    executable or unsupported file; nothing is written anywhere before this
    check passes.
    """
    limit = settings.DOCUMENT_MAX_UPLOAD_BYTES
    if upload is None:
        raise ValidationError(
            {"file": ValidationError(_("Choose a file to send."), code="required")}
        )
    if upload.size is not None and upload.size > limit:
        raise _file_error(
            _("This file is too large (%(size)s): the limit is %(limit)s.")
            % {"size": filesizeformat(upload.size), "limit": filesizeformat(limit)},
            "file_too_large",
        )
    upload.seek(0)
    data = upload.read(limit + 1)
    if len(data) > limit:
        raise _file_error(
            _("This file is too large: the limit is %(limit)s.")
            % {"limit": filesizeformat(limit)},
            "file_too_large",
        )
    if not data:
        raise _file_error(_("This file is empty."), "empty_file")
    if is_executable(data):
        raise _file_error(
            _("Programs and scripts are refused: send a PDF or a picture."),
            "executable_file",
        )
    kind = sniff(data)
    if kind is None:
        raise _file_error(
            _("This type of file is not accepted. Accepted: %(types)s.")
            % {"types": ACCEPTED_LABEL},
            "unsupported_file_type",
        )
    return data, kind


def _file_error(message: str, code: str) -> ValidationError:
    return ValidationError({"file": ValidationError(message, code=code)})


def digest(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def store_encrypted(*, data: bytes, folder: str) -> str:
    """Encrypt and write the bytes; returns the storage name to keep on the row."""
    name = f"{STORAGE_DIRECTORY}/{folder}/{secrets.token_hex(16)}.enc"
    return default_storage.save(name, ContentFile(crypto.encrypt(data)))


class DocumentUnreadable(Exception):
    """The stored file is missing, cannot be decrypted or does not match its hash."""


def read_decrypted(*, storage_name: str, sha256: str) -> bytes:
    try:
        with default_storage.open(storage_name, "rb") as handle:
            token = handle.read()
        data = crypto.decrypt(token)
    except (OSError, crypto.DecryptionError) as error:
        raise DocumentUnreadable(storage_name) from error
    if digest(data) != sha256:
        raise DocumentUnreadable(f"{storage_name}: content does not match its hash")
    return data


def rotate_stored(*, storage_name: str) -> str | None:
    """Re-encrypt a stored file with the newest key under a new name.

    Returns the new name, or None when the file already uses the newest key.
    The old file is left for the caller to delete once the row points to the new
    one, so that a crash in between loses nothing.
    """
    with default_storage.open(storage_name, "rb") as handle:
        token = handle.read()
    if crypto.is_current(token):
        return None
    folder = storage_name.rsplit("/", 1)[0]
    name = f"{folder}/{secrets.token_hex(16)}.enc"
    return default_storage.save(name, ContentFile(crypto.rotate(token)))


def delete_stored(storage_name: str) -> None:
    if storage_name and default_storage.exists(storage_name):
        default_storage.delete(storage_name)


def stored_names(directory: str = STORAGE_DIRECTORY):
    """Every stored document file name, walking the storage's folders."""
    if not default_storage.exists(directory):
        return
    folders, names = default_storage.listdir(directory)
    for name in names:
        yield f"{directory}/{name}"
    for folder in folders:
        yield from stored_names(f"{directory}/{folder}")
