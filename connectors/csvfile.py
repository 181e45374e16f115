"""Open an exported CSV file and stream its rows with their line numbers.

Shared by ``import`` (saved mentions) and ``kpi import`` (helpdesk and survey exports).

Handles what real exports look like: a UTF-8 BOM (Excel's "CSV UTF-8"),
Windows-1252 (Excel's plain "CSV" on Windows), UTF-16 with a BOM (Excel's
"Unicode Text"), comma, semicolon or tab delimiters, and the zip file
Zendesk mails (one CSV inside). Memory stays bounded: nothing holds more
than one row, whatever the file's size.
"""

from __future__ import annotations

import codecs
import csv
import io
import re
import sys
import zipfile
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import IO, TYPE_CHECKING, NamedTuple

from connectors.base import BadPayload

if TYPE_CHECKING:
    from charset_normalizer import CharsetMatch

# A ticket's description can be long; the csv module's default cell limit is 128 KiB.
csv.field_size_limit(min(sys.maxsize, 2**31 - 1))

_CHUNK = 1 << 20
_UNDECODED = re.compile("[\udc80-\udcff]")
_TEXT_SUFFIXES = (".csv", ".tsv", ".txt")
_BLANK = " \t\r\n,;\ufeff"  # what a line without a cell holds
_SEP_LINE = re.compile(r'"?sep=([,;\t|])"?', re.IGNORECASE)  # quoted by some tools that re-save it


class ExportFile:
    """An opened export: ``header``, then :meth:`rows`; ``position``/``size`` in bytes for progress."""

    def __init__(
        self, path: Path, opener: Callable[[], IO[bytes]], size: int, encoding: str, verified: bool,
        option: str | None = "--encoding",
    ) -> None:
        self.path = path
        self._opener = opener
        self._option = option
        self.size = size
        self.encoding = encoding
        # Bytes the encoding cannot decode become lone surrogates, so the row
        # holding them can be named; a detected encoding was checked already.
        self._unverified = not verified
        self._binary = opener()
        self._text = io.TextIOWrapper(self._binary, encoding=encoding, errors="surrogateescape", newline="")
        try:
            # Blank lines above the header (or rows of bare separators, a spreadsheet's empty
            # rows) are no rows; they are counted so that line numbers stay the file's.
            self._skipped = 0
            first = self._past_blank_lines()
            # Excel's "sep=;" line before the header names the delimiter (and is no row).
            hint = _SEP_LINE.fullmatch(first.lstrip("\ufeff").rstrip("\r\n"))
            if hint:
                self.delimiter = hint.group(1)
                self._skipped += 1
                first = self._past_blank_lines()
            else:
                self.delimiter = _delimiter(first)
            # Re-join the first line with the rest: a quoted header may span lines.
            self._last_line = first
            self._reader = csv.reader(self._lines(first), delimiter=self.delimiter)
            self._line = self._skipped
            header = self._next_row()
            if header is None or not any(h.strip() for h in header):
                raise BadPayload(f"{path}: the file is empty (no header line)")
            # A stray BOM survives when a file was saved twice; it is never part of a name.
            self.header = [h.strip().lstrip("\ufeff").strip() for h in header]
        except UnicodeError as exc:  # bytes surrogateescape cannot keep (UTF-16's), or no BOM for "utf-16"
            self.close()
            raise self._undecodable(exc) from None
        except BaseException:
            self.close()
            raise

    def _past_blank_lines(self) -> str:
        """The next line that is not blank ("" at the end of the file), counting those skipped."""
        line = self._text.readline()
        while line and not line.strip(_BLANK):
            self._skipped += 1
            line = self._text.readline()
        return line

    @property
    def position(self) -> int:
        try:
            return int(self._binary.tell())
        except (OSError, ValueError):
            return 0

    @property
    def ends_with_line_break(self) -> bool:
        """Whether the last line read so far ends with a line break: once :meth:`rows` is
        done, whether the file does (an export cut short does not)."""
        return self._last_line.endswith(("\n", "\r"))

    def _lines(self, first: str) -> Iterator[str]:
        self._last_line = first
        self._ended = False
        yield first
        for line in self._text:
            self._last_line = line
            yield line
        self._ended = True  # the reader asks past the last line only inside a quoted cell, or once done

    def rows(self) -> Iterator[tuple[int, list[str]]]:
        """Each data row as ``(line number, cells)``; blank rows are skipped."""
        while True:
            line = self._line + 1
            row = self._next_row()
            if row is None:
                return
            if any(cell.strip() for cell in row):
                yield line, row

    def _next_row(self) -> list[str] | None:
        where = self._line + 1
        try:
            row = next(self._reader, None)
        except csv.Error as exc:
            raise BadPayload(f"{self.path}:{where}: not valid CSV ({exc})") from None
        except UnicodeError as exc:
            raise self._undecodable(exc) from None
        self._line = self._reader.line_num + self._skipped
        if row is not None and self._ended:
            # The file ended inside a quoted cell: the csv module gives the rest of the file as
            # that cell, and the rows in it would be lost without a word.
            spread = f"lines {where}-{self._line} would be read as one cell" if self._line > where else "the file ends inside it"
            raise BadPayload(
                f"{self.path}:{where}: a quoted cell opened in this row is never closed, so {spread}"
                ' (a stray " in it? a file cut short?)'
            )
        if row is not None and self._unverified:
            for cell in row:
                if _UNDECODED.search(cell):
                    shown = cell.encode(self.encoding, "surrogateescape")
                    raise BadPayload(
                        f"{self.path}:{where}: not {self.encoding} text: {shown!r};"
                        f" {_resave(self._option, 'the right ')}"
                    )
        return row

    def _undecodable(self, exc: UnicodeError) -> BadPayload:
        """The error for text the encoding cannot decode, at the first such byte of
        the file: the text is decoded a chunk ahead of the rows read."""
        return undecodable(self.path, self._opener, self.encoding, exc, option=self._option)

    def close(self) -> None:
        self._text.close()

    def __enter__(self) -> ExportFile:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def open_export(path: str | Path, encoding: str | None = None, *, option: str | None = "--encoding") -> ExportFile:
    """Open ``path`` (a CSV, or a zip holding one) in ``encoding``, else the detected one.

    ``option`` is the command-line option that names an encoding, for the hints of
    errors (None: the command has none).
    """
    path = Path(path)
    check_file(path)
    opener, size = _opener(path)
    if encoding is not None:
        given = encoding
        try:
            encoding = codecs.lookup(given).name
        except LookupError:
            raise BadPayload(f'unknown encoding "{given}" (try utf-8, cp1252, utf-16)') from None
        try:  # rot13 turns text into text, idna host names into bytes: neither reads a file
            ",\n".encode(encoding, "surrogateescape")
        except (LookupError, UnicodeError):
            raise BadPayload(f'"{given}" is not a text encoding (try utf-8, cp1252, utf-16)') from None
        return ExportFile(path, opener, size, encoding, verified=False, option=option)
    encoding = detect_encoding(path, opener, option)
    return ExportFile(path, opener, size, encoding, verified=not encoding.startswith("utf-16"), option=option)


# Compressed files are not read (an import reads its file more than once, and a JSONL
# file's workers each seek to their own part): (leading bytes, kind, the command that undoes it).
_COMPRESSED = [
    (re.compile(rb"\x1f\x8b\x08"), "gzip", "gunzip"),
    (re.compile(rb"\xfd7zXZ\x00"), "xz", "unxz"),
    (re.compile(rb"BZh[1-9]1AY&SY"), "bzip2", "bunzip2"),
    (re.compile(rb"\x28\xb5\x2f\xfd"), "zstd", "unzstd"),
]


def check_file(path: Path) -> None:
    """A BadPayload unless ``path`` is a regular file: an import reads its file more than once
    (to check it, or to find its encoding, then to import it), which a pipe cannot give."""
    if path.is_file():
        with path.open("rb") as fh:
            magic = fh.read(10)
        for signature, kind, command in _COMPRESSED:
            if signature.match(magic):
                raise BadPayload(f"{path}: compressed with {kind}; decompress it first ({command} {path.name})"
                                 " and import the result")
        return
    if str(path) == "-":
        raise BadPayload("-: reading standard input is not supported; save it to a file and import that")
    if path.exists():
        raise BadPayload(f"{path}: not a regular file (a pipe?); it is read more than once: save it to a file and import that")
    raise BadPayload(f"{path}: file not found")


def _opener(path: Path) -> tuple[Callable[[], IO[bytes]], int]:
    if not zipfile.is_zipfile(path):
        if path.suffix.lower() == ".zip":  # a download cut short, most likely
            raise BadPayload(f"{path}: damaged zip file (no zip directory at its end)")
        return (lambda: path.open("rb")), path.stat().st_size
    try:
        with zipfile.ZipFile(path) as archive:
            members = [i for i in archive.infolist() if i.filename.lower().endswith(_TEXT_SUFFIXES)]
    except zipfile.BadZipFile as exc:
        raise BadPayload(f"{path}: damaged zip file ({exc})") from None
    if len(members) != 1:
        names = ", ".join(i.filename for i in members) or "none"
        raise BadPayload(f"{path}: expected one CSV file in the zip, found {len(members)} ({names}); unzip it and import each")
    member = members[0]

    def open_member() -> IO[bytes]:
        archive = zipfile.ZipFile(path)
        opened = archive.open(member)
        archive.close()  # the member holds its own reference; the file closes with it
        return opened

    return open_member, member.file_size


def detect_encoding(path: Path, opener: Callable[[], IO[bytes]], option: str | None = "--encoding") -> str:
    """``utf-8-sig``, ``utf-16`` (BOM), ``utf-16-le``/``-be`` (no BOM), ``utf-8`` or
    ``cp1252``; a BadPayload if none fits.

    Exports declare no encoding. A BOM settles it; NUL bytes mean UTF-16 without
    one. Otherwise UTF-8 is tried first because it is strict: text in another
    encoding with any accented letter is almost never valid UTF-8. A file that is
    not UTF-8 is most likely Excel's "CSV" save on Windows, so Windows-1252 comes
    next. Almost any bytes decode as Windows-1252, though, so a file that reads
    like Chinese, Japanese, Korean, Cyrillic, Greek, Hebrew, Arabic or Thai text
    is refused with the likely encoding named, instead of imported as gibberish.
    """
    with opener() as fh:
        sample = fh.read(_SAMPLE)
    if sample.startswith(codecs.BOM_UTF8):
        return "utf-8-sig"
    if sample.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return "utf-16"
    if b"\x00" in sample:  # never in a text file, but every other byte of UTF-16 ASCII
        even, odd = sample[0::2].count(0), sample[1::2].count(0)
        if odd > 4 * even:
            return "utf-16-le"
        if even > 4 * odd:
            return "utf-16-be"
        raise BadPayload(f"{path}: not a text file (it holds NUL bytes)")
    bad_utf8 = _first_undecodable(opener, "utf-8")
    if bad_utf8 is None:
        return "utf-8"
    offset, byte, _ = bad_utf8
    # Checked whether or not Windows-1252 decodes the file: Shift-JIS and GBK text
    # usually holds bytes Windows-1252 leaves undefined (0x81, 0x8d, 0x8f, 0x90, 0x9d).
    other = _other_script(sample)
    if other is not None:
        script, encoding = other
        hint = f"pass {option} {encoding} if that is right, or re-save it as UTF-8" if option else "re-save it as UTF-8"
        raise BadPayload(
            f"{path}: unknown text encoding: not UTF-8 (byte 0x{byte:02x} at offset {offset}),"
            f" and it reads like {script} text (perhaps {encoding}) rather than Windows-1252; {hint}"
        )
    if _first_undecodable(opener, "cp1252") is None:
        return "cp1252"
    raise BadPayload(
        f"{path}: unknown text encoding: not UTF-8 (byte 0x{byte:02x} at offset {offset})"
        f" and not Windows-1252; {_resave(option)}"
    )


_SAMPLE = 64 << 10  # bytes read to recognise an encoding
# What charset-normalizer may recognise instead of Windows-1252, by script.
_JAPANESE = (
    "cp932", "shift_jis", "shift_jis_2004", "shift_jisx0213", "euc_jp", "euc_jis_2004", "euc_jisx0213", "iso2022_jp",
)
_MULTIBYTE = {
    "Chinese, Japanese or Korean": (
        *_JAPANESE, "gb2312", "gbk", "gb18030", "hz", "big5", "big5hkscs", "cp950", "cp949", "euc_kr",
        "johab", "iso2022_kr",
    ),
}
_SINGLE_BYTE = {
    "Cyrillic": ("cp1251", "koi8_r", "koi8_u", "iso8859_5", "cp866", "mac_cyrillic"),
    "Greek": ("cp1253", "iso8859_7"),
    "Hebrew": ("cp1255", "iso8859_8"),
    "Arabic": ("cp1256", "iso8859_6"),
    "Thai": ("cp874", "tis_620"),
}
#: charset-normalizer's "mess" of a sample read as Windows-1252 above which a
#: single-byte guess is believed (Western text in capitals measures up to ~0.4).
_MESS = 0.45
#: Hiragana and (full-width) katakana: in all Japanese text, not used in Chinese or Korean text.
_KANA = re.compile("[\u3041-\u30ff]")


def _other_script(sample: bytes) -> tuple[str, str] | None:
    """``(script, encoding)`` when ``sample`` is clearly not Western text, else None."""
    from charset_normalizer import from_bytes
    from charset_normalizer.md import mess_ratio

    matches = list(from_bytes(sample))
    if not matches:
        return None
    best = matches[0]
    for script, encodings in _MULTIBYTE.items():
        if best.encoding in encodings:
            return script, _east_asian(m for m in matches if m.encoding in encodings)
    for script, encodings in _SINGLE_BYTE.items():
        if best.encoding in encodings and mess_ratio(sample.decode("cp1252", "replace"), 1.0) > _MESS:
            return script, best.encoding
    return None


def _east_asian(matches: Iterable[CharsetMatch]) -> str:
    """The encoding of the best match, corrected by kana: on a few short lines
    charset-normalizer takes Japanese for Korean or Chinese and back, but read in
    the right encoding Japanese text has kana and Chinese or Korean text none."""
    ranked = list(matches)
    japanese = [m for m in ranked if m.encoding in _JAPANESE]
    for match in japanese:
        if _KANA.search(str(match)):
            return match.encoding
    others = [m for m in ranked if m.encoding not in _JAPANESE]
    return (others or ranked)[0].encoding


def _resave(option: str | None, which: str = "") -> str:
    """What to do about a file in an unknown encoding."""
    return f"re-save it as UTF-8 or pass {which}{option}" if option else "re-save it as UTF-8"


class Undecodable(NamedTuple):
    offset: int
    byte: int
    reason: str


def _first_undecodable(opener: Callable[[], IO[bytes]], encoding: str) -> Undecodable | None:
    """Offset, value and the decoder's reason of the first byte ``encoding`` cannot
    decode, read in chunks."""
    decoder = codecs.getincrementaldecoder(encoding)()
    offset = 0
    with opener() as fh:
        while True:
            chunk = fh.read(_CHUNK)
            pending = len(decoder.getstate()[0])  # bytes of a character split across chunks
            try:
                decoder.decode(chunk, final=not chunk)
            except UnicodeDecodeError as exc:
                byte = exc.object[exc.start] if exc.start < len(exc.object) else 0
                return Undecodable(offset - pending + exc.start, byte, _reason(exc))
            except UnicodeError as exc:  # "UTF-16 stream does not start with BOM" (Python < 3.13)
                return Undecodable(offset - pending, (chunk or b"\0")[0], str(exc))
            if not chunk:
                return None
            offset += len(chunk)


def undecodable(
    path: Path, opener: Callable[[], IO[bytes]], encoding: str, exc: UnicodeError, *,
    option: str | None = None, name: str | None = None,
) -> BadPayload:
    """The error for a file that ``encoding`` (called ``name`` in the message) cannot decode,
    naming the line and byte offset of the first byte it cannot: a reader decodes text a
    chunk ahead of the lines it gives, so where it failed says neither. ``exc``: the
    reader's error, for a file that has changed since (the byte is not found again)."""
    name = name or encoding
    found = _first_undecodable(opener, encoding)
    if found is None:
        return BadPayload(f"{path}: not {name} text ({exc}); {_resave(option, 'the right ')}")
    try:
        line = _line_at(opener, encoding, found.offset)
    except UnicodeError as bom:
        # "utf-16"/"utf-32" without a BOM: the decoder reports a bad byte further on
        # before it notices the missing BOM, which is the first fault of the file.
        with opener() as fh:
            first = fh.read(1)
        found, line = Undecodable(0, (first or b"\0")[0], _reason(bom)), 1
    return BadPayload(
        f"{path}:{line}: not {name} text ({found.reason} at byte offset {found.offset}); {_resave(option, 'the right ')}"
    )


def _reason(exc: UnicodeError) -> str:
    """Why ``exc``'s bytes cannot be decoded, worded the same on every Python: from 3.13 a
    "utf-16"/"utf-32" text without a BOM is a UnicodeDecodeError whose reason drops the
    codec's name ("Stream does not start with BOM"), before a plain UnicodeError naming it."""
    if not isinstance(exc, UnicodeDecodeError):
        return str(exc)
    if exc.reason == "Stream does not start with BOM":
        return f"{exc.encoding.upper()} stream does not start with BOM"
    return exc.reason


def _line_at(opener: Callable[[], IO[bytes]], encoding: str, offset: int) -> int:
    """The line of the byte at ``offset``, a decodable one or the first that is not."""
    decoder = codecs.getincrementaldecoder(encoding)()
    breaks, last, left = 0, "", offset
    with opener() as fh:
        while left > 0:
            chunk = fh.read(min(_CHUNK, left))
            if not chunk:
                break
            left -= len(chunk)
            text = last + decoder.decode(chunk)
            # \r\n, \n or a lone \r, as the rows are split; a \r ending the text waits for what follows
            breaks += text.count("\n") + text[:-1].count("\r") - text.count("\r\n")
            last = text[-1:] if text.endswith("\r") else ""
    return breaks + 1 + (last == "\r")


def _delimiter(first_line: str) -> str:
    """Comma, unless the header line clearly uses tabs or semicolons (European Excel)."""
    unquoted = "".join(part for i, part in enumerate(first_line.split('"')) if i % 2 == 0)
    counts = {d: unquoted.count(d) for d in (",", ";", "\t")}
    best = max(counts, key=lambda d: counts[d])
    return best if counts[best] > counts[","] else ","
