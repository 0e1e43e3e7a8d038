"""Text files a user writes (settings, prompts, reply scripts), read as Windows editors save them.

Notepad saves UTF-8 with a byte order mark and CRLF line ends; older Japanese editors save
Shift_JIS. The first is read as it is meant; the second is refused with what to do about it,
because guessing an encoding would put mojibake into what the avatar says.
"""

from __future__ import annotations

from pathlib import Path

UTF8_BOM = b"\xef\xbb\xbf"
_SAVE_AS_UTF8 = "save it as UTF-8 (in Notepad: File > Save As, Encoding: UTF-8)"


class TextFileError(ValueError):
    """A text file cannot be read, or is not UTF-8; the message says which file and why."""


def read_text_file(path: Path, what: str = "the file") -> str:
    """Return a UTF-8 text file's text without its byte order mark, with LF line ends.

    Args:
        path: The file.
        what: How the message names the file, e.g. ``"the prompt file"``.

    Raises:
        TextFileError: When the file cannot be read or is not UTF-8 (the message names the
            encoding it seems to be in and says to save it as UTF-8).

    """
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise TextFileError(f"cannot read {what} {path}: {exc.strerror or exc}") from None
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        raise TextFileError(f"{what} {path} is UTF-16 (Notepad's 'Unicode'); {_SAVE_AS_UTF8}")
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        seems = _seems(data)
        raise TextFileError(
            f"{what} {path} is not UTF-8{f' (it looks like {seems})' if seems else ''}: "
            f"byte 0x{data[exc.start]:02x} at offset {exc.start}; {_SAVE_AS_UTF8}"
        ) from None
    return text.replace("\r\n", "\n").replace("\r", "\n")


def _seems(data: bytes) -> str | None:
    """Name the legacy encoding ``data`` decodes in, if one of the likely ones."""
    for codec, name in (("cp932", "Shift_JIS"), ("euc_jp", "EUC-JP"), ("cp1252", "Windows-1252")):
        try:
            data.decode(codec)
        except UnicodeDecodeError:
            continue
        return name
    return None
