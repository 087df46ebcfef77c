"""The mail model: one RFC 5322 message -> ``Mail`` (threading headers, author, date, recipients, the
plain-text body to parse).

Every mail source yields its messages as ``Mail`` (``.eml`` files, mbox, maildir, public-inbox, lore), and
``triage parse`` reads an e-mail's body through it.
"""

from __future__ import annotations

import email
import email.header
import email.policy
import email.utils
import functools
import hashlib
import quopri
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.message import EmailMessage, Message
from typing import Any

from records.inputs import InputError

# compat32 is several times faster than the modern policy's header registry; the few headers we read are
# decoded explicitly (RFC 2047) in ``_header``.
_POLICY = email.policy.compat32
_MSGID = re.compile(r"<([^<>\s]+)>")
_SURROGATE = re.compile("[\udc80-\udcff]")     # undecodable bytes in a raw header
_CRLF = re.compile(r"\r+\n")                 # CRLF, and the CRCRLF of a gateway that added one more
_LONE_SURROGATE = re.compile("[\ud800-\udfff]")  # what a utf-7 / utf-16 decoder can leave: no UTF-8 for it
_ADDR = re.compile(r"[\w.+=-]+@[\w-]+(?:\.[\w-]+)+")
_MBOX_FROM = re.compile(rb"^From \S+.*$", re.M)


@dataclass
class Mail:
    """A parsed e-mail message."""

    message_id: str
    subject: str = ""
    author_name: str = ""
    author_email: str = ""
    date: str | None = None           # ISO 8601 UTC
    in_reply_to: str | None = None
    refs: list[str] = field(default_factory=list)
    list_id: str | None = None
    recipients: list[str] = field(default_factory=list)   # To + Cc addresses, lower-case
    body: str = ""
    headers: dict[str, str] = field(default_factory=dict)


def parse_bytes(raw: bytes, *, fast: bool = True) -> Mail:
    """Parse one RFC 5322 message. Malformed headers do not raise: missing fields stay empty.

    A plain single-part text message is read by ``simple_mail`` (``fast``), another plain one split by
    ``simple_message``; anything else goes through the standard parser. All give the same ``Mail``."""
    if fast and (mail := simple_mail(raw)) is not None:
        return mail
    msg = simple_message(raw) if fast else None
    if msg is None:
        msg = email.message_from_bytes(raw, policy=_POLICY)
    return from_message(msg, raw)


# Every header ``from_message`` and ``body_text`` read (a list archive's mails carry dozens of Received and
# X- headers besides): ``simple_message`` keeps only these, in order, so ``Message.get`` scans a few fields.
READ_FIELDS = frozenset({"message-id", "from", "subject", "date", "in-reply-to", "references", "list-id", "to", "cc",
                         "content-type", "content-transfer-encoding", "content-disposition"})
# a header block the standard parser reads as plain fields: every line a field ("name:" with a non-empty name of
# printable characters) or a continuation (leading blank), and none an envelope "From " line
_LINE = r"(?:[\041-\071\073-\176]+:[^\n]*|[\t ][^\n]*)"
_PLAIN_HEADERS = re.compile(f"{_LINE}(?:\\n{_LINE})*")
# the fields of ``READ_FIELDS`` only (names in any letter case), in a plain header block with a line break put
# before it: the dozens of others are skipped by the regexp, not by Python
_READ_FIELD = re.compile("\n(" + "|".join(map(re.escape, sorted(READ_FIELDS))) + r"):[ \t]*([^\n]*(?:\n[\t ][^\n]*)*)",
                         re.I | re.A)


def _plain_fields(raw: bytes) -> tuple[int, list[tuple[str, str]]] | None:
    """Of a plain mail (see ``simple_message``): where its body starts, and its fields of ``READ_FIELDS`` in order
    (decoded as the standard parser decodes the header block); None for any other mail."""
    if b"\r" in raw:
        return None
    split = raw.find(b"\n\n")
    if split <= 0:
        return None
    head = raw[:split].decode("ascii", "surrogateescape")       # as email.parser.BytesParser decodes
    if head[0] in " \t" or head.startswith("From ") or "\nFrom " in head or not _PLAIN_HEADERS.fullmatch(head):
        return None
    return split + 2, _READ_FIELD.findall("\n" + head)


def simple_message(raw: bytes) -> Message | None:
    """The ``Message`` that ``email.message_from_bytes(raw, policy=compat32)`` builds, for a plain mail only:
    LF line ends, a blank line after well-formed headers, and a content type that is neither multipart nor
    message/*; None for anything else (the caller then runs the standard parser).

    The standard parser reads a mail line by line in Python; for the plain text mails that make up most of a
    list archive, the header block is cut into fields here by two regexps, the way it would (names up to the
    colon, continuation lines joined, leading blanks of a value dropped: ``compat32.header_source_parse``),
    and the rest is the payload as it is.
    """
    plain = _plain_fields(raw)
    if plain is None:
        return None
    start, fields = plain
    msg = Message()
    for name, value in fields:
        msg.set_raw(name, value)
    try:
        if msg.get_content_maintype() in ("multipart", "message"):
            return None
    except Exception:       # a content type the standard parser must judge itself
        return None
    msg.set_payload(raw[start:].decode("ascii", "surrogateescape"))
    return msg


# the body types ``body_text`` keeps of a single-part mail without asking for a file name
_BODY_TYPES = frozenset({"text/plain", "text/x-log", "text/x-diff", "text/x-patch", "text/html"})
# the transfer encodings ``Message.get_payload(decode=True)`` decodes; any other value leaves the bytes as they are
_ENCODED = frozenset({"quoted-printable", "base64", "x-uuencode", "uuencode", "uue", "x-uue"})


def simple_mail(raw: bytes) -> Mail | None:
    """``from_message(simple_message(raw), raw)`` without building the ``Message``, for a plain mail whose body
    is its bytes as they are or quoted-printable: a text type ``body_text`` keeps, and ASCII in the content type
    and encoding fields (what ``Message`` reads of them is then the field's text). None for any other mail."""
    plain = _plain_fields(raw)
    if plain is None:
        return None
    start, fields = plain
    hdrs = _raw_fields(fields)
    ctype_field = hdrs.get("content-type")
    if ctype_field is None:
        ctype = "text/plain"
    elif not ctype_field.isascii():
        return None
    else:
        ctype = ctype_field.partition(";")[0].strip().lower()     # Message.get_content_type
        if ctype.count("/") != 1:
            ctype = "text/plain"
    cte = hdrs.get("content-transfer-encoding", "")
    if ctype not in _BODY_TYPES or not cte.isascii():
        return None
    cte = cte.lower()
    if cte == "quoted-printable":               # undone as Message.get_payload(decode=True) undoes it
        payload = quopri.decodestring(raw[start:])
    elif cte in _ENCODED:
        return None
    else:
        payload = raw[start:]
    charset = (_content_charset(ctype_field) if ctype_field is not None else None) or "utf-8"
    try:
        body = storable_text(payload.decode(charset, "replace"))
    except (LookupError, UnicodeError):    # an unknown charset, or a codec that fails anyway (utf-7)
        body = payload.decode("utf-8", "replace")
    body = _CRLF.sub("\n", body) if "\r" in body else body
    if ctype == "text/plain" and (delsp := _flowed(ctype_field)) is not None:
        body = unflow(body, delsp)
    return _mail(hdrs, body, raw)


def _flowed(content_type: str | None) -> bool | None:
    """Of a text/plain part with this Content-Type value: None unless it is ``format=flowed`` (RFC 3676), else
    whether it says ``delsp=yes`` (read as ``Message.get_param`` reads them)."""
    if content_type is None or "flowed" not in content_type.lower():
        return None
    msg = Message()
    msg.set_raw("Content-Type", content_type)
    if str(msg.get_param("format", "")).lower() != "flowed":
        return None
    return str(msg.get_param("delsp", "")).lower() == "yes"


def unflow(text: str, delsp: bool = False) -> str:
    """The text a ``format=flowed`` body stands for (RFC 3676), as the sender wrote it: a line ending in a space (a
    soft break its mail client made; not the signature separator "-- ") is joined with the next line of the same
    quote depth (the ">" it starts with), less that space when ``delsp``; an unquoted line loses the space the client
    put before a line starting with a blank, ">" or "From " (space-stuffing: a kernel's " func+0x1/0x2" frame line
    arrives as "  func+0x1/0x2"). Quote marks are kept as sent, and every line not so joined is left as it is."""
    out: list[str] = []
    para: list[str] | None = None        # the pieces of a line being joined, and its quote depth
    para_depth = 0
    for line in text.split("\n"):
        depth = len(line) - len(line.lstrip(">"))
        body = line[depth + 1:] if line[depth:depth + 1] == " " else line[depth:]      # less the stuffing
        if depth == 0:
            line = body
        if para is not None and depth == para_depth:
            para.append(body)
        else:
            if para is not None:        # a soft break before another quote depth: the line ended there
                out.append("".join(para))
            para, para_depth = [line], depth
        if body.endswith(" ") and body != "-- ":
            if delsp:
                para[-1] = para[-1][:-1]
            continue
        out.append("".join(para))
        para = None
    if para is not None:
        out.append("".join(para))
    return "\n".join(out)


def read_mail(raw: bytes, location: str) -> Mail:
    """``parse_bytes``, or ``InputError`` naming ``location`` when the message cannot be read at all
    (MIME nested thousands deep, a codec that fails)."""
    try:
        return parse_bytes(raw)
    except (RecursionError, MemoryError, LookupError, UnicodeError, ValueError, TypeError, AttributeError) as exc:
        raise InputError(location, f"unreadable e-mail ({type(exc).__name__})") from None


def _raw_headers(msg: EmailMessage) -> dict[str, str]:
    """First value of each header, unparsed: the policy's structured parsing of long To/Cc lists costs
    milliseconds per message, and only Subject and From need decoding (``_header``)."""
    return _raw_fields(msg.raw_items())


def _raw_fields(items: Iterable[tuple[str, Any]]) -> dict[str, str]:
    """``_raw_headers`` of a message's (name, value) fields."""
    out: dict[str, str] = {}
    for name, value in items:
        key = name.lower()
        if key not in out:
            if isinstance(value, str) and _SURROGATE.search(value):
                value = value.encode("utf-8", "surrogateescape").decode("utf-8", "replace")
            out[key] = str(value)
    return out


def _header(headers: dict[str, str], name: str, decode: bool = False) -> str:
    value = headers.get(name.lower())
    if value is None:
        return ""
    if decode and "=?" in value:
        try:
            value = storable_text(str(email.header.make_header(email.header.decode_header(value))))
        except Exception:  # a malformed encoded word: keep the raw text
            pass
    return " ".join(value.split())        # every run of blanks one space, none at the ends (as ``\\s+``)


def storable_text(value: str) -> str:
    """Decoded text that can be stored and printed: a lone surrogate (a utf-7 or utf-16 part can decode to
    one; SQLite and a UTF-8 terminal refuse it) becomes U+FFFD."""
    return value if value.isascii() else _LONE_SURROGATE.sub("\ufffd", value)


def msgids(value: str) -> list[str]:
    """The message-ids in a header, without angle brackets, in order."""
    return _MSGID.findall(value or "")


def from_message(msg: EmailMessage, raw: bytes | None = None) -> Mail:
    return _mail(_raw_headers(msg), body_text(msg), raw, msg)


def _mail(hdrs: dict[str, str], body: str, raw: bytes | None, msg: EmailMessage | None = None) -> Mail:
    """The ``Mail`` of a message's first header values (``_raw_headers``) and body text."""
    mid_list = msgids(_header(hdrs, "Message-ID"))
    if mid_list:
        message_id = mid_list[0]
    else:  # a message without Message-ID still needs a stable key
        digest = hashlib.sha256(raw if raw is not None else msg.as_bytes()).hexdigest()[:32]
        message_id = f"{digest}@syz-triage.invalid"
    name, addr = _parseaddr(_header(hdrs, "From", decode=True))
    irt = msgids(_header(hdrs, "In-Reply-To"))
    return Mail(
        message_id=message_id,
        subject=_header(hdrs, "Subject", decode=True),
        author_name=name,
        author_email=addr.lower(),
        date=_iso_date(_header(hdrs, "Date")),
        in_reply_to=irt[0] if irt else None,
        refs=msgids(_header(hdrs, "References")),
        list_id=(msgids(_header(hdrs, "List-Id")) or [None])[0],
        recipients=list(_recipients(_header(hdrs, "To") + " " + _header(hdrs, "Cc"))),
        body=body,
    )


# A list's mails repeat their authors and Cc lists: the pure functions of a header value below are cached.
@functools.lru_cache(maxsize=4096)
def _parseaddr(value: str) -> tuple[str, str]:
    return email.utils.parseaddr(value)


@functools.lru_cache(maxsize=4096)
def _recipients(value: str) -> tuple[str, ...]:
    """The addresses in To + Cc, lower-case."""
    return tuple(a.lower() for a in _ADDR.findall(value))


@functools.lru_cache(maxsize=256)
def _content_charset(content_type: str) -> str | None:
    """``Message.get_content_charset()`` of a part with this Content-Type value (a few dozen values in a list)."""
    msg = Message()
    msg.set_raw("Content-Type", content_type)
    return msg.get_content_charset()


def _charset(part: Message) -> str | None:
    value = part.get("content-type")
    return _content_charset(value) if type(value) is str else part.get_content_charset()


def parse_date(value: str | None) -> datetime | None:
    """An RFC 5322 / HTTP date as an aware datetime (UTC when the zone is missing); None if unreadable."""
    if not value:
        return None
    try:
        dt = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    return dt.replace(tzinfo=UTC) if dt.tzinfo is None else dt


def header_date(iso: str | None) -> str | None:
    """A stored ISO date as an RFC 5322 ``Date:`` value (None when absent or unreadable)."""
    if not iso:
        return None
    try:
        return email.utils.format_datetime(datetime.fromisoformat(iso.replace("Z", "+00:00")))
    except ValueError:
        return None


def _iso_date(value: str) -> str | None:
    dt = parse_date(value)
    return dt.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ") if dt else None


def body_text(msg: EmailMessage) -> str:
    """The message's plain-text body: every text/plain part (not attachments of other types)."""
    parts = []
    for part in msg.walk() if msg.is_multipart() else [msg]:
        if part.is_multipart():
            continue
        ctype = part.get_content_type()
        if ctype not in ("text/plain", "text/x-log", "text/x-diff", "text/x-patch") and not (
            ctype.startswith("text/") and part.get_filename()
        ):
            if msg.is_multipart() or ctype != "text/html":
                continue
        try:
            payload = part.get_payload(decode=True) or b""
        except Exception:
            payload = b""
        charset = _charset(part) or "utf-8"
        try:
            text = storable_text(payload.decode(charset, "replace"))
        except (LookupError, UnicodeError):    # an unknown charset, or a codec that fails anyway (utf-7)
            text = payload.decode("utf-8", "replace")
        value = part.get("content-type")
        if ctype == "text/plain" and (delsp := _flowed(value if type(value) is str else None)) is not None:
            text = unflow(_CRLF.sub("\n", text) if "\r" in text else text, delsp)
        parts.append(text)
    text = "\n".join(parts)
    return _CRLF.sub("\n", text) if "\r" in text else text


def looks_like_mail(head: bytes) -> bool:
    """True if ``head`` (the first bytes of a file) starts with RFC 5322 headers."""
    lines = head.replace(b"\r\n", b"\n").split(b"\n", 30)[:30]
    names = set()
    for line in lines:
        if not line.strip():
            break
        m = re.match(rb"^([A-Za-z][A-Za-z0-9-]*):", line)
        if m:
            names.add(m.group(1).lower())
        elif not line[:1].isspace():
            return False
    return bool(names & {b"message-id", b"from", b"subject"}) and len(names) >= 2


def mbox_messages(data: bytes, name: str) -> Iterator[tuple[str, bytes] | InputError]:
    """The raw messages of an mbox (mboxo/mboxrd), located ``name#N``; an ``InputError`` for a last message
    cut off by truncation."""
    starts = [m.start() for m in _MBOX_FROM.finditer(data)]
    if not starts or starts[0] != 0:
        starts.insert(0, 0)
    for n, start in enumerate(starts):
        end = starts[n + 1] if n + 1 < len(starts) else len(data)
        chunk = data[start:end]
        nl = chunk.find(b"\n")
        raw = chunk[nl + 1:] if chunk.startswith(b"From ") else chunk
        raw = re.sub(rb"^>(>*From )", rb"\1", raw, flags=re.M)   # mboxrd unquoting
        last = n + 1 == len(starts)
        normalized = raw.replace(b"\r\n", b"\n")
        if last and (b"\n\n" not in normalized or not data.endswith(b"\n")):
            yield InputError(name, f"truncated mbox: message {n + 1} is cut off")
            return
        if raw.strip():
            yield f"{name}#{n + 1}", raw
