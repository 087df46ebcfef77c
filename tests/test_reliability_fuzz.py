"""Fuzzing the parser (``triage.report.parse``) and the mail reader (``records.mail``) with real fragments.

Inputs are real reports and mails from ../shared/data, mutated the way real input goes wrong: cut short,
quoted or prefixed, control bytes and escape sequences, huge lines, repeated blocks, binary junk, lines of
another document spliced in, and for mails odd charsets, transfer encodings, encoded words and MIME nesting.
Properties: nothing raises but the one ``InputError`` of an unreadable mail (one line); every result is JSON;
the rows the store would write are well formed and really insert (into an in-memory store, rolled back).

CI runs a few examples of each, derandomized; ``bench/fuzz.py`` runs the same properties at >= 100,000.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from functools import cache

import pytest
from conftest import shared_data
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

CI_EXAMPLES = 60
CI = settings(max_examples=CI_EXAMPLES, deadline=None, derandomize=True, database=None,
              suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large,
                                     HealthCheck.function_scoped_fixture])

# -- real fragments ----------------------------------------------------------------------------------------


@cache
def report_docs() -> tuple[bytes, ...]:
    """Real kernel output: hand-labelled reports, syzkaller's golden console logs, syzbot's extracted reports."""
    out = [p.read_bytes() for p in sorted(shared_data("labelled", "reports").glob("*.txt"))]
    out += [p.read_bytes() for p in sorted(shared_data("syzkaller-reports", "report").iterdir())[::6]]
    out += [p.read_bytes() for p in sorted(shared_data("syzbot-sample").glob("*.txt"))[::12]]
    return tuple(out)


@cache
def mail_docs() -> tuple[bytes, ...]:
    """Real list mails: byte-exact archive copies and lore's raw messages."""
    lore = shared_data("lore")
    return tuple(p.read_bytes() for p in sorted([*lore.rglob("*.eml"), *lore.rglob("raw")]))


# -- mutations -----------------------------------------------------------------------------------------------

PREFIXES = [b"> ", b">> ", b"> > ", b"[  477.362261][T18348] ", b"[   12.000001] ", b"<4>[ 1.1] ", b"| ", b"    ",
            b"\t", b"kern  :warn  : ", b"syzkaller login: ", b"=20", b"+"]
CONTROL = [b"\x00", b"\x1b[2J", b"\x1b]0;owned\x07", b"\x1b[31m", b"\r", b"\r\n", b"\x7f", b"\x08", b"\x0c",
           b"\xff\xfe", b"\xc3", b"\xe2\x80\xae", b"\xe2\x80\xa8", b"\xef\xbb\xbf", b"\x85", b"[/x]", b"[link=http://x]y[/link]"]
CHARSETS = [b"utf-7", b"x-unknown", b"iso-2022-jp", b"utf-16", b"utf-32", b"cp1252", b"", b'utf-8"; x="', b"us-ascii",
            b"idna", b"rot13", b"hex", b"base64"]
ENCODINGS = [b"base64", b"quoted-printable", b"x-uuencode", b"8bit", b"7bit", b"bogus"]
WORDS = [b"=?utf-7?B?K0FHRUFZZ0JqLQ==?=", b"=?unknown?Q?x?=", b"=?utf-8?B?//79?=", b"=?utf-8?Q?=FF=FE?=",
         b"=?iso-8859-1?q?=E9t=E9?=", b"=?utf-8?B?", b"=?=?=?="]


def _span(draw, n: int) -> tuple[int, int]:
    i = draw(st.integers(0, max(n - 1, 0)))
    return i, min(n, i + draw(st.integers(1, 40)))


def _truncate(draw, lines: list[bytes], _docs) -> list[bytes]:
    cut = draw(st.integers(0, len(lines)))
    lines = lines[:cut]
    if lines and draw(st.booleans()):
        lines[-1] = lines[-1][:draw(st.integers(0, len(lines[-1])))]
    return lines


def _prefix(draw, lines, _docs):
    i, j = _span(draw, len(lines))
    p = draw(st.sampled_from(PREFIXES))
    return lines[:i] + [p + line for line in lines[i:j]] + lines[j:]


def _control(draw, lines, _docs):
    if not lines:
        return [draw(st.sampled_from(CONTROL))]
    i = draw(st.integers(0, len(lines) - 1))
    pos = draw(st.integers(0, len(lines[i])))
    lines[i] = lines[i][:pos] + draw(st.sampled_from(CONTROL)) + lines[i][pos:]
    return lines


def _huge(draw, lines, _docs):
    """One line made long (the parser cuts lines; these stay short of the known quadratic sizes)."""
    i = draw(st.integers(0, len(lines))) if lines else 0
    seed = lines[i] if i < len(lines) and lines[i] else draw(st.sampled_from([b"x", b"> ", b"\xff", b"A" * 7]))
    size = draw(st.sampled_from([1_000, 5_000, 20_000]))
    return lines[:i] + [(seed * (size // len(seed) + 1))[:size]] + lines[i + 1:]


def _repeat(draw, lines, _docs):
    if not lines:
        return lines
    i, j = _span(draw, len(lines))
    times = draw(st.sampled_from([2, 3, 10, 100, 500]))
    block = lines[i:min(j, i + 4)] * times
    return lines[:i] + block + lines[i:]


def _binary(draw, lines, _docs):
    i = draw(st.integers(0, len(lines)))
    return lines[:i] + [draw(st.binary(min_size=1, max_size=200))] + lines[i:]


def _splice(draw, lines, docs):
    other = draw(st.sampled_from(docs)).split(b"\n")
    a, b = _span(draw, len(other))
    i = draw(st.integers(0, len(lines)))
    return lines[:i] + other[a:b] + lines[i:]


def _drop(draw, lines, _docs):
    i, j = _span(draw, len(lines))
    return lines[:i] + lines[j:]


def _header_end(lines: list[bytes]) -> int:
    return next((k for k, line in enumerate(lines) if not line.strip()), len(lines))


def _charset(draw, lines, _docs):
    h = _header_end(lines)
    cs = draw(st.sampled_from(CHARSETS))
    kept = [line for line in lines[:h] if not line.lower().startswith(b"content-type:")]
    return kept + [b"Content-Type: text/plain; charset=" + cs] + lines[h:]


def _transfer(draw, lines, _docs):
    h = _header_end(lines)
    return lines[:h] + [b"Content-Transfer-Encoding: " + draw(st.sampled_from(ENCODINGS))] + lines[h:]


def _encoded_word(draw, lines, _docs):
    h = _header_end(lines)
    name = draw(st.sampled_from([b"Subject", b"From", b"Message-ID", b"In-Reply-To", b"References", b"Date"]))
    return [b"%s: %s" % (name, draw(st.sampled_from(WORDS)))] + lines[:h] + lines[h:]


def _nest(draw, lines, _docs):
    """The body wrapped in multipart/mixed parts (the message's own Content-Type goes: the first one counts).
    Nesting past the recursion limit is tests/test_reliability_inputs.py's: hypothesis raises the limit while it
    runs a test, and the email package takes seconds per message at those depths then."""
    h = _header_end(lines)
    depth = draw(st.sampled_from([1, 3, 40, 200]))
    heads = b"".join(b"Content-Type: multipart/mixed; boundary=b%d\n\n--b%d\n" % (k, k) for k in range(depth))
    kept = [line for line in lines[:h] if not line.lower().startswith(b"content-type:")]
    return kept + heads.split(b"\n") + lines[h + 1:]


TEXT_OPS: list[Callable] = [_truncate, _prefix, _control, _huge, _repeat, _binary, _splice, _drop]
MAIL_OPS: list[Callable] = TEXT_OPS + [_charset, _transfer, _encoded_word, _nest]


@st.composite
def mutated(draw, docs: tuple[bytes, ...], ops: list[Callable]) -> bytes:
    """A real document with 0-4 mutations."""
    lines = draw(st.sampled_from(docs)).split(b"\n")
    for _ in range(draw(st.integers(0, 4))):
        lines = draw(st.sampled_from(ops))(draw, lines, docs)
    return b"\n".join(lines)


# -- properties ----------------------------------------------------------------------------------------------

_HEX64 = re.compile(r"[0-9a-f]{64}")
_ISO = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ")


@cache
def _store():
    """An in-memory store: rows are inserted for real, then rolled back."""
    from triage.store import open_db

    return open_db(":memory:")


def _storable(value) -> None:
    """What SQLite takes as TEXT: a str must encode as UTF-8 (no lone surrogate)."""
    if isinstance(value, str):
        value.encode("utf-8")
    elif isinstance(value, (list, tuple)):
        for v in value:
            _storable(v)
    elif isinstance(value, dict):
        for k, v in value.items():
            _storable(k)
            _storable(v)


def _one_line(value: str | None) -> None:
    assert value is None or (isinstance(value, str) and "\n" not in value), value


def check_parse(data: bytes | str) -> str:
    """The parser on one input: never raises; JSON-able; a found crash gives well-formed rows that insert.
    Returns what it found ("crash" / "no crash"), for the benchmark's counts."""
    from triage.report import parse
    from triage.store import transaction
    from triage.store.reports import prepare, store_report

    rep = parse(data)
    d = rep.to_dict()
    _storable(json.loads(json.dumps(d, ensure_ascii=False, allow_nan=False)))
    for value in (rep.title, rep.type, rep.guilty_frame, rep.guilty_file, rep.kernel):
        _one_line(value)
    assert all(isinstance(s, str) for s in rep.signature)
    for f in rep.frames:
        assert isinstance(f.function, str) and f.function and isinstance(f.norm_function, str), f
        assert f.line is None or isinstance(f.line, int), f
    if rep.display_title is None:
        return "no crash"
    text = data if isinstance(data, str) else data.decode("utf-8", "replace")
    prepared = prepare(rep, kind="file", location="fuzz", full_text=text)
    assert _HEX64.fullmatch(prepared.content_hash)
    row = prepared.row
    assert row["title"] and "\n" not in row["title"]
    assert row["signature_hash"] is None or re.fullmatch(r"[0-9a-f]{16}", row["signature_hash"])
    json.loads(row["parsed"])
    _storable(row)
    _storable(prepared.frames)
    db = _store()
    try:
        with transaction(db):
            rid, new = store_report(db, prepared)
            assert new and db.execute("SELECT count(*) FROM frames WHERE report_id = ?", [rid]).fetchone()[0] == \
                len({(f[0], f[1]) for f in prepared.frames})
            raise _Rollback
    except _Rollback:
        pass
    return "crash"


class _Rollback(Exception):
    pass


def check_mail(raw: bytes) -> str:
    """The mail reader on one message: a ``Mail`` or one ``InputError`` line; the message row is well formed
    and inserts; the report reader and the parser take its body. Returns "unreadable" or what the body held."""
    from records.inputs import InputError
    from records.mail import read_mail
    from triage.report.source import report_text
    from triage.store import transaction
    from triage.store.messages import insert_message, message_row

    try:
        mail = read_mail(raw, "fuzz.eml")
    except InputError as exc:
        assert str(exc).startswith("fuzz.eml: ") and "\n" not in str(exc)
        return "unreadable"
    assert mail.message_id and not re.search(r"[\s<>]", mail.message_id), mail.message_id
    for value in (mail.subject, mail.author_name, mail.author_email, mail.in_reply_to, mail.list_id):
        _one_line(value)
    assert mail.date is None or _ISO.fullmatch(mail.date), mail.date
    assert all(isinstance(r, str) and r for r in mail.refs)
    assert isinstance(mail.body, str) and "\r\n" not in mail.body
    row = message_row(mail, source="fuzz.eml")
    _storable(row)
    json.dumps(row)
    for key in ("refs", "syz_commands", "tags"):
        if isinstance(row.get(key), str):
            json.loads(row[key])
    db = _store()
    try:
        with transaction(db):
            assert insert_message(db, row)
            raise _Rollback
    except _Rollback:
        pass
    text = report_text(raw, "fuzz.eml")          # what triage parse / classify read from the same file
    assert isinstance(text, (str, bytes))
    return check_parse(mail.body)


# -- the tests CI runs ---------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def reports() -> tuple[bytes, ...]:
    return report_docs()


@pytest.fixture(scope="module")
def mails() -> tuple[bytes, ...]:
    return mail_docs()


@CI
@given(data=st.data())
def test_the_parser_takes_any_mutated_report(reports, data):
    raw = data.draw(mutated(reports, TEXT_OPS))
    check_parse(raw if data.draw(st.booleans()) else raw.decode("utf-8", "replace"))


@CI
@given(data=st.data())
def test_the_mail_reader_takes_any_mutated_mail(mails, data):
    check_mail(data.draw(mutated(mails, MAIL_OPS)))


@CI
@given(data=st.data())
def test_a_report_inside_a_mutated_mail(reports, mails, data):
    """A real report pasted (quoted, cut, ...) into a real mail's body: the case syzbot mails and replies are."""
    head, _, _ = data.draw(st.sampled_from(mails)).partition(b"\n\n")
    body = data.draw(mutated(reports, TEXT_OPS))
    check_mail(data.draw(mutated((head + b"\n\n" + body,), MAIL_OPS)))



def test_a_utf7_mail_that_decodes_to_lone_surrogates_is_stored(db, tmp_path):
    """Found by the fuzzer: utf-7 decodes ``+2D0-`` to a lone surrogate, which SQLite refuses (the import died
    with UnicodeEncodeError); it is stored as U+FFFD, body and encoded-word subject alike."""
    from records import MailRecord
    from records.mail import read_mail
    from triage.pipeline import Pipeline

    raw = (b"From: a@example.org\nSubject: =?utf-7?Q?+2D0-?= crash\nMessage-ID: <u7@example.org>\n"
           b"Content-Type: text/plain; charset=utf-7\n\n+2D0- __alloc_pages+0x255/0x4e0\n")
    summary = Pipeline(db, classify=False).run([MailRecord(read_mail(raw, "u7.eml"), "eml", "u7.eml")])
    assert summary.messages_new == 1 and summary.errors == []
    subject, body = db.execute("SELECT subject, body FROM messages").fetchone()
    assert subject == "\ufffd crash" and body.startswith("\ufffd __alloc_pages")


def test_a_body_with_cr_cr_lf_line_ends_is_read_with_plain_newlines():
    """Found by the fuzzer: replacing CRLF once left CR CR LF (a gateway's extra CR) as CR LF in the body."""
    from records.mail import read_mail

    mail = read_mail(b"From: a@example.org\r\nMessage-ID: <cr@example.org>\r\n\r\nfirst\r\r\nsecond\r\n", "cr.eml")
    assert mail.body == "first\nsecond\n"
