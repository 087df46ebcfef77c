"""The fast split of plain single-part mails (``records.mail.simple_message``, and ``simple_mail`` for those whose
body is its bytes or quoted-printable) gives the same ``Mail`` as the standard parser, on every message of three
real list archives and on the forms it must hand over."""

from __future__ import annotations

import pytest
from conftest import ARCHIVES_SMALL_FIRST

from records.mail import parse_bytes, simple_mail, simple_message


@pytest.mark.parametrize("name", ARCHIVES_SMALL_FIRST)
def test_every_archive_mail_parses_the_same(archive_mails, name):
    raws = archive_mails(name)
    fast = fastest = 0
    for raw in raws:
        fast += simple_message(raw) is not None
        mail = simple_mail(raw)
        fastest += mail is not None
        assert parse_bytes(raw) == parse_bytes(raw, fast=False), raw[:300]
        assert mail is None or mail == parse_bytes(raw, fast=False), raw[:300]
    assert fast > 0.9 * len(raws)          # the fast split is what most of a list archive goes through
    assert fastest > 0.85 * len(raws)       # most of it without a Message


PLAIN = (b"From: =?UTF-8?Q?J=C3=B6rg?= <jorg@example.org>\nTo: a@example.org,\n b@example.org\n"
         b"Subject: [PATCH] ext4: fix\n\tthe thing\nMessage-ID: <1@x>\nReferences: <0@x>\n <00@x>\n"
         b"Received: from somewhere\nDate: Mon, 1 Jan 2024 10:00:00 +0100\n"
         b"Content-Type: text/plain; charset=\"iso-8859-1\"\nContent-Transfer-Encoding: quoted-printable\n\n"
         b"caf=E9 \xe9\nBUG: x\n")


@pytest.mark.parametrize("raw", [
    PLAIN,
    PLAIN.replace(b"quoted-printable", b"8bit"),
    PLAIN.replace(b"Subject: [PATCH]", b"Subject:   \n [PATCH]"),
    PLAIN.replace(b"Date:", b"X-Odd.Name!: 1\nDate:"),
    b"Subject: no body\n\n",
    b"Message-ID: <x@y>\nContent-Type: text/html\n\n<p>hi</p>\n",
])
def test_plain_forms_split_fast_and_the_same(raw):
    assert simple_message(raw) is not None
    assert parse_bytes(raw) == parse_bytes(raw, fast=False)


@pytest.mark.parametrize(("raw", "fastest"), [
    (PLAIN, True),                                                           # quoted-printable, undone
    (PLAIN.replace(b"quoted-printable", b"Quoted-Printable"), True),
    (PLAIN.replace(b"quoted-printable", b"quoted-printable "), True),     # not that encoding: bytes as they are
    (PLAIN.replace(b"caf=E9 ", b"caf=E9=\n=3D=ZZ ="), True),               # soft break, a bad escape, a last =
    (PLAIN.replace(b"quoted-printable", b"x-uuencode"), False),
    (PLAIN.replace(b"quoted-printable", b"8bit"), True),
    (PLAIN.replace(b"quoted-printable", b"8BIT "), True),                    # any other value: bytes as they are
    (PLAIN.replace(b"quoted-printable", b"Base64"), False),
    (PLAIN.replace(b"Content-Transfer-Encoding: quoted-printable\n", b""), True),
    (PLAIN.replace(b"charset=\"iso-8859-1\"", b"charset=\"no-such-charset\""), True),
    (PLAIN.replace(b"charset=\"iso-8859-1\"", b"charset=\"no-such-charset\"").replace(b"quoted-printable", b"7bit"),
     True),
    (PLAIN.replace(b"text/plain", b"TEXT/X-Diff"), True),
    (PLAIN.replace(b"text/plain", b"TEXT/X-Diff").replace(b"quoted-printable", b"7bit"), True),
    (PLAIN.replace(b"text/plain", b"text/x-c").replace(b"quoted-printable", b"7bit"), False),   # a file name?
    (PLAIN.replace(b"text/plain", b"textplain").replace(b"quoted-printable", b"7bit"), True),  # read as text/plain
    (PLAIN.replace(b"text/plain", b"text/pl\xe4in").replace(b"quoted-printable", b"7bit"), False),
    (b"message-id: <x@y>\nCONTENT-TYPE: text/html\nSUBJECT: a\n b\n\n<p>hi</p>\n", True),
])
def test_single_text_bodies_skip_the_message(raw, fastest):
    assert (simple_mail(raw) is not None) == fastest
    assert parse_bytes(raw) == parse_bytes(raw, fast=False)


@pytest.mark.parametrize("raw", [
    PLAIN.replace(b"\n", b"\r\n"),                                         # CRLF: the standard parser's job
    b"From someone Mon Jan  1 00:00:00 2024\n" + PLAIN,                    # an envelope line
    PLAIN.replace(b"Content-Type: text/plain", b"Content-Type: multipart/mixed"),
    PLAIN.replace(b"Content-Type: text/plain", b"Content-Type: message/rfc822"),
    b" continuation first\nSubject: x\n\nbody\n",
    b"Subject: x\nnot a header line\n\nbody\n",
    PLAIN.replace(b"Date:", b"Date :"),                                     # a blank in a name ends the headers
    b": no name\nSubject: x\n\nbody\n",
    b"Subject: headers only\n",
])
def test_other_forms_go_to_the_standard_parser(raw):
    assert simple_message(raw) is None
    assert parse_bytes(raw) == parse_bytes(raw, fast=False)
