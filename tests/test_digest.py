"""The weekly digest: content, a real SMTP server (aiosmtpd) on 127.0.0.1, escaping, the outbox on failure."""

from __future__ import annotations

import email
import email.policy
import json
import socket
from datetime import timedelta

import pytest
from test_inbox_data import NOW, add, bug, iso, message, repro_run, synthetic, verdict

from triage.digest import build, evidence_line, sparkline
from triage.inbox import InboxFilter, query
from triage.review import set_state

HOSTILE = '<script>alert("x")</script><img src=x onerror=alert(1)>'


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class _Collect:
    def __init__(self):
        self.messages: list[tuple[str, list[str], bytes]] = []
        self.greetings = 0          # EHLO / HELO: a client connected and spoke

    async def handle_EHLO(self, server, session, envelope, hostname, responses):  # noqa: N802 (aiosmtpd's hook)
        self.greetings += 1
        session.host_name = hostname
        return responses

    async def handle_HELO(self, server, session, envelope, hostname):  # noqa: N802
        self.greetings += 1
        session.host_name = hostname
        return f"250 {server.hostname}"

    async def handle_DATA(self, server, session, envelope):  # noqa: N802
        self.messages.append((envelope.mail_from, list(envelope.rcpt_tos), envelope.original_content))
        return "250 OK"


@pytest.fixture
def smtp_server():
    from aiosmtpd.controller import Controller

    handler = _Collect()
    controller = Controller(handler, hostname="127.0.0.1", port=_free_port())
    controller.start()
    try:
        yield controller, handler
    finally:
        controller.stop()


@pytest.fixture
def week(db):
    """A store with a week of activity: new critical / high / low items, a fix, a stale bug, old reports."""
    ids = {}
    ids["dl"] = add(db, synthetic("dl_fn"), "dl", days_ago=1, bug="bugDL", message_id="<dl@google.com>")
    ids["rd"] = add(db, synthetic("rd_fn"), "rd", days_ago=2, bug="bugRD")
    ids["nf"] = add(db, synthetic("nf_fn"), "nf", days_ago=3, bug="bugNF")
    ids["old_other"] = add(db, synthetic("old_fn"), "old", days_ago=10, bug="bugOld")
    ids["stale"] = add(db, synthetic("stale_fn"), "stale", days_ago=60, bug="bugStale")
    ids["stale_replied"] = add(db, synthetic("replied_fn"), "replied", days_ago=60, bug="bugReplied")
    ids["fixed"] = add(db, synthetic("fixed_fn"), "fixed", days_ago=20, bug="bugFixed")
    ids["acked"] = add(db, synthetic("acked_fn"), "acked", days_ago=1, bug="bugAcked")
    for key, extid, status in (("dl", "bugDL", "open"), ("rd", "bugRD", "open"), ("nf", "bugNF", "open"),
                               ("old_other", "bugOld", "open"), ("stale", "bugStale", "open"),
                               ("stale_replied", "bugReplied", "open"), ("fixed", "bugFixed", "fixed"),
                               ("acked", "bugAcked", "open")):
        bug(db, extid, status=status, crashes=3, repro="C" if key == "dl" else "",
            fix=[{"title": "ext4: keep the dirty pages", "hash": "abc"}] if status == "fixed" else None)
    for key, label in (("dl", "data-loss"), ("rd", "reclaim-deadlock"), ("nf", "nofail-warning"),
                       ("old_other", "other"), ("stale", "other"), ("stale_replied", "other"),
                       ("fixed", "data-loss"), ("acked", "data-loss")):
        verdict(db, ids[key], label, evidence={"summary": f"evidence for {key}: lost async page write"})
    set_state(db, [ids["acked"]], "acked")
    message(db, "<human@x>", "bugReplied", 5, author="Dave Chinner", body="looking at it")
    message(db, "<bot@x>", "bugStale", 5, author="syzbot", body="still happening")
    repro_run(db, ids["dl"], "data-loss")
    db.conn.commit()
    return ids


def test_digest_content(db, week):
    d = build(db, timedelta(days=7), now=NOW)
    counts = {c.label: (c.count, c.previous, c.delta) for c in d.counts}
    assert counts["data-loss"] == (2, 0, "+2")           # dl and the acked one were reported this week
    assert counts["reclaim-deadlock"] == (1, 0, "+1") and counts["other"] == (0, 1, "-1")
    assert [n.item.id for n in d.new] == [week["dl"], week["rd"], week["nf"]]
    assert d.new[0].severity == "critical" and "lost async page write" in d.new[0].evidence
    assert "https://syzkaller.appspot.com/bug?extid=bugDL" in d.new[0].links
    assert "https://lore.kernel.org/all/dl@google.com/" in d.new[0].links
    assert [f.extid for f in d.fixed] == ["bugFixed"] and d.fixed[0].fix == "ext4: keep the dirty pages"
    # stale: open, quiet for 30 days; the one Dave replied to is skipped, a syzbot ping does not count
    assert [n.item.id for n in d.stale] == [week["stale"]]
    assert sum(d.trend) == 6 and d.trend[-1] == 4 and len(d.trend) == 8
    assert "data-loss" in d.subject and "3 new" in d.subject
    assert build(db, timedelta(days=7), now=NOW, stale_max=0).stale == []


def test_reviews_of_the_series_a_stale_report_was_posted_in_are_no_reply_to_it(db, week):
    """A robot's report posted as a reply to a patch series: the series' later reviews are no human reply to the
    crash (it stays in the stale list); a reply under the report is one."""
    cover = "<cover@x>"
    message(db, cover, None, 70, author="Dev", subject="[PATCH 0/1] ext4: rework", thread=cover)
    rid = add(db, synthetic("robot_fn"), "robot", days_ago=60, message_id="<robot@x>")
    verdict(db, rid, "other")
    message(db, "<robot@x>", None, 60, author="kernel test robot", thread=cover, parent=cover)
    message(db, "<review@x>", None, 5, author="Dave Chinner", body="looks good", thread=cover, parent=cover)
    db.conn.commit()
    assert rid in [n.item.id for n in build(db, timedelta(days=7), now=NOW).stale]
    message(db, "<answer@x>", None, 5, author="Dev", body="fixed in v2", thread=cover, parent="<robot@x>")
    db.conn.commit()
    assert rid not in [n.item.id for n in build(db, timedelta(days=7), now=NOW).stale]


def test_a_line_flagged_by_another_member_says_which_one(db):
    """A line shows its titled report (confident) and is flagged for review by another member: the digest's evidence
    names that member and its evidence, not the confident verdict that does not explain the flag."""
    shown = add(db, synthetic("ext4_named", 1), "shown", days_ago=2, bug="bugF")
    other = add(db, synthetic("netdev_other", 2), "other", days_ago=1, bug="bugF")
    bug(db, "bugF", title="KASAN: use-after-free Read in ext4_named")
    verdict(db, shown, "other", 0.8, evidence={"rule": "an ordinary warning"})
    verdict(db, other, "other", 0.5, needs_review=True, evidence={"rule": "the model disagrees"})
    [new] = build(db, timedelta(days=7), now=NOW).new
    assert new.item.id == shown and new.item.needs_review
    assert new.evidence == (f"#{other} (KASAN: use-after-free Read in netdev_other) needs review: "
                            "the model disagrees")
    verdict(db, shown, "other", 0.5, needs_review=True, evidence={"rule": "its own doubt"})
    assert build(db, timedelta(days=7), now=NOW).new[0].evidence == "its own doubt"


def test_a_stale_bug_with_a_fix_posted_leaves_the_stale_list(db, week):
    """A bug whose fix was named long ago (``#syz fix``, 50 days back) is handled, not forgotten: it stays in the inbox
    as fix pending but leaves the digest's list of open bugs nobody answers."""
    assert week["stale"] in [n.item.id for n in build(db, timedelta(days=7), now=NOW).stale]
    db.execute("UPDATE bugs SET updated_at = ? WHERE extid = 'bugStale'", [iso(55)])     # synced before the command
    message(db, "<fix@x>", "bugStale", 50, author="Dev", body="#syz fix: ext4: stop the stale thing",
            syz=[{"command": "fix", "args": "ext4: stop the stale thing"}])
    db.conn.commit()
    assert [it.status for it in query(db, InboxFilter()) if it.id == week["stale"]] == ["fix pending"]
    assert week["stale"] not in [n.item.id for n in build(db, timedelta(days=7), now=NOW).stale]


def test_the_new_items_in_full_and_the_one_line_ones_are_apart(db, week):
    """A blank line ends each item given in full (critical, high, flagged), the one-line items after it included."""
    from triage.digest.mail import render

    text, _ = render(build(db, timedelta(days=7), now=NOW))
    lines = text.split("\n")
    short = [i for i, line in enumerate(lines) if line.startswith("[ *NEW* ] ") and ": " in line
             and line.split(":")[0].split()[-1].islower()]
    assert short, text
    assert lines[short[0] - 1] == "", text       # (the item before it is given in full, links last)


def test_a_stale_bug_syzbot_suspects_fixed_says_how_to_confirm_it(db, week):
    from triage.digest.mail import render

    db.execute("DELETE FROM bugs WHERE extid = 'bugStale'")         # known from mail only: syzbot's mail says
    db["messages"].insert({"message_id": "<fixbisect@x>", "subject": "Re: [syzbot] x", "date": iso(40),
                           "author_email": "syzbot+bugStale@syzkaller.appspotmail.com", "bug_extid": "bugStale",
                           "syz_commands": "[]", "tags": "{}", "source": "test",
                           "body": "syzbot suspects this issue was fixed by commit:\n\ncommit 0123456789abcdef\n\n"
                                   "#syz fix: ext4: stop the stale thing\n"})
    d = build(db, timedelta(days=7), now=NOW)
    assert [n.item.status for n in d.stale] == ["fix suspected"]
    text, html = render(d)
    assert (f'syzbot suspects it fixed by "ext4: stop the stale thing": triage reply {week["stale"]} --fix TITLE'
            in text)
    assert "syzbot suspects it fixed by &ldquo;ext4: stop the stale thing&rdquo;" in html


def test_digest_sent_to_a_real_smtp_server(cli, db, week, smtp_server, tmp_path):
    controller, handler = smtp_server
    db.execute("UPDATE reports SET title = ? WHERE id = ?", [HOSTILE, week["dl"]])
    db.execute("UPDATE bugs SET title = ? WHERE extid = 'bugDL'", [HOSTILE])     # a line shows its bug's title
    verdict(db, week["dl"], "data-loss", evidence={"summary": "dropped </small><script>evil()</script>"})
    db.conn.commit()
    res = cli("digest", "--to", "maint@example.org", "--to", "list@example.org", "--from", "triage@example.org",
              "--smtp", f"127.0.0.1:{controller.port}")
    assert res.exit_code == 0, res.output
    assert len(handler.messages) == 1
    mail_from, rcpts, raw = handler.messages[0]
    assert mail_from == "triage@example.org" and rcpts == ["maint@example.org", "list@example.org"]
    msg = email.message_from_bytes(raw, policy=email.policy.default)
    assert msg.get_content_type() == "multipart/alternative"
    assert [p.get_content_type() for p in msg.iter_parts()] == ["text/plain", "text/html"]
    for header in ("Date", "Message-ID", "List-Id", "X-Triage-Digest", "Subject"):
        assert msg[header], header
    assert msg["List-Id"].endswith("<digest.syz-triage>")
    text = msg.get_body(("plain",)).get_content()
    html = msg.get_body(("html",)).get_content()
    assert "[ *NEW* ]" in text and HOSTILE in text              # plain text is shown as-is
    assert "ext4: keep the dirty pages" in text and "Open, no fix posted, quiet" in text
    assert any(ch in text for ch in "▁▂▃▄▅▆▇█")
    # the hostile title and evidence arrive inert in the HTML part
    assert "<script>" not in html and "onerror=alert" not in html.replace("onerror=alert(1)&gt;", "")
    assert "&lt;script&gt;alert(" in html and "&lt;/small&gt;&lt;script&gt;evil()" in html
    assert "<svg" in html and "<rect" in html
    from html.parser import HTMLParser

    tags: list[str] = []

    class Tags(HTMLParser):
        def handle_starttag(self, tag, attrs):
            tags.append(tag)

    Tags().feed(html)
    assert "script" not in tags and "img" not in tags


def test_smtp_auth(cli, db, week, monkeypatch):
    from aiosmtpd.controller import Controller
    from aiosmtpd.smtp import AuthResult

    handler = _Collect()
    seen = []

    def authenticator(server, session, envelope, mechanism, auth_data):
        seen.append((auth_data.login, auth_data.password))
        ok = auth_data.login == b"jack" and auth_data.password == b"s3cret"
        return AuthResult(success=ok, handled=False)      # not handled: aiosmtpd answers 235 or 535

    controller = Controller(handler, hostname="127.0.0.1", port=_free_port(), authenticator=authenticator,
                            auth_required=True, auth_require_tls=False)
    controller.start()
    try:
        monkeypatch.setenv("DIGEST_PW", "s3cret")
        res = cli("digest", "--to", "a@example.org", "--smtp", f"127.0.0.1:{controller.port}",
                  "--user", "jack", "--password-env", "DIGEST_PW")
        assert res.exit_code == 0, res.output
        assert seen == [(b"jack", b"s3cret")] and len(handler.messages) == 1
        monkeypatch.setenv("DIGEST_PW", "wrong")
        res = cli("digest", "--to", "a@example.org", "--smtp", f"127.0.0.1:{controller.port}",
                  "--user", "jack", "--password-env", "DIGEST_PW")
        assert res.exit_code == 1 and "kept in" in res.output and len(handler.messages) == 1
    finally:
        controller.stop()
    res = cli("digest", "--to", "a@example.org", "--user", "jack", "--password-env", "UNSET_VAR_XYZ")
    assert res.exit_code == 2 and "UNSET_VAR_XYZ" in res.output


def test_refused_connection_keeps_the_digest_in_the_outbox(cli, db, week, db_path):
    from triage.paths import data_dir

    port = _free_port()              # nothing listens there
    res = cli("digest", "--to", "maint@example.org", "--smtp", f"127.0.0.1:{port}")
    assert res.exit_code == 1
    assert "could not send" in res.output and "kept in" in res.output
    kept = list((data_dir() / "outbox").glob("*.eml"))
    assert len(kept) == 1 and str(kept[0]) in res.output.replace("\n", "")
    msg = email.message_from_bytes(kept[0].read_bytes(), policy=email.policy.default)
    assert msg.get_content_type() == "multipart/alternative" and msg["To"] == "maint@example.org"


def test_out_file_json_and_stdout(cli, db, week, tmp_path):
    out = tmp_path / "digest.eml"
    res = cli("digest", "--out", out, "--since", "2w")
    assert res.exit_code == 0
    msg = email.message_from_bytes(out.read_bytes(), policy=email.policy.default)
    assert "[syz-triage] digest" in msg["Subject"]
    d = json.loads(cli("digest", "--json").output.splitlines()[0])
    assert [n["item"]["id"] for n in d["new"]] == [week["dl"], week["rd"], week["nf"]]
    assert d["counts"][0]["label"] == "data-loss" and d["counts"][0]["delta"] == "+2"
    res = cli("digest")
    assert res.exit_code == 0 and "Reports per label" in res.output
    assert cli("digest", "--since", "soon").exit_code == 2
    assert cli("digest", "--to", "a@b", "--smtp", "host:notaport").exit_code == 2


def test_subsystem_filter_and_helpers(db, week):
    bug(db, "bugRD", subsystems=("xfs",))
    d = build(db, timedelta(days=7), subsystems=["xfs"], now=NOW)
    assert [n.item.id for n in d.new] == [week["rd"]]
    assert sparkline([0, 1, 2, 4]) == "▁▃▅█" and sparkline([0, 0]) == "▁▁"
    assert evidence_line(json.dumps({"by": "jack", "note": "seen it"})) == "labelled by jack: seen it"
    assert evidence_line(json.dumps({"rules": [{"id": "r1", "sentence": "NOFAIL from reclaim"}]})) == \
        "NOFAIL from reclaim"
    assert evidence_line("plain words") == "plain words" and evidence_line(None) == ""
    # a verdict no rule found a line for: the model's suggestion, flagged for review, never the evidence's JSON
    suspected = {"rules": [], "model": {"label": "data-loss", "probabilities": {"data-loss": 0.81, "other": 0.08}},
                 "decided_by": "suggestion", "suggestion": {"label": "data-loss", "probability": 0.8077},
                 "event": {"kind": "none", "primary": True}}
    assert evidence_line(json.dumps(suspected)) == \
        "suggestion: data-loss (0.81) from the model alone, no evidence line: review"
    assert evidence_line(json.dumps({**suspected, "decisive": "a line"})).startswith("suggestion: data-loss")
    assert iso(0) <= NOW.strftime("%Y-%m-%dT%H:%M:%SZ")


def test_digest_settings_from_the_config(cli, db, week, smtp_server, tmp_path, monkeypatch):
    controller, handler = smtp_server
    cfg = tmp_path / "config.toml"
    cfg.write_text(f'[subscriptions]\nsubsystems = ["ext4"]\n\n[digest]\nto = ["me@example.org"]\n'
                   f'from = "bot@example.org"\nsmtp = "127.0.0.1:{controller.port}"\nstale_max = 0\n')
    monkeypatch.setenv("TRIAGE_CONFIG", str(cfg))
    res = cli("digest", "--send")
    assert res.exit_code == 0, res.output
    (mail_from, rcpts, raw), = handler.messages
    assert mail_from == "bot@example.org" and rcpts == ["me@example.org"]
    text = email.message_from_bytes(raw, policy=email.policy.default).get_body(("plain",)).get_content()
    assert "(ext4)" in text and "Open, no fix posted, quiet" not in text


def test_a_preview_never_sends(cli, db, week, smtp_server, tmp_path, monkeypatch):
    """Recipients and an SMTP server in the config arm nothing: only --send / --to send; --out, --json and
    --dry-run never connect (the real server below hears no greeting)."""
    controller, handler = smtp_server
    cfg = tmp_path / "config.toml"
    cfg.write_text(f'[digest]\nto = ["me@example.org"]\n[smtp]\nhost = "127.0.0.1:{controller.port}"\n')
    monkeypatch.setenv("TRIAGE_CONFIG", str(cfg))
    previews = [(), ("--out", tmp_path / "d.eml"), ("--json",), ("--dry-run",), ("--to", "x@example.org", "--dry-run"),
                ("--to", "x@example.org", "--out", tmp_path / "e.eml"), ("--to", "x@example.org", "--json")]
    for args in previews:
        res = cli("digest", *args)
        assert res.exit_code == 0, (args, res.output)
    assert handler.greetings == 0 and handler.messages == []
    assert (tmp_path / "d.eml").exists() and (tmp_path / "e.eml").exists()
    res = cli("digest", "--dry-run")
    assert "To: me@example.org" in res.output and "Reports per label" in res.output
    res = cli("digest", "--send", "--out", tmp_path / "f.eml")
    assert res.exit_code == 2 and "never sends" in res.output and not (tmp_path / "f.eml").exists()
    assert handler.greetings == 0
    assert cli("digest", "--send").exit_code == 0
    assert handler.greetings == 1 and [m[1] for m in handler.messages] == [["me@example.org"]]
    assert cli("digest", "--to", "x@example.org").exit_code == 0          # --to sends
    assert [m[1] for m in handler.messages][1] == ["x@example.org"]


def _self_signed(tmp_path):
    """A certificate for 127.0.0.1 made here with the openssl command."""
    import shutil
    import subprocess

    if shutil.which("openssl") is None:
        pytest.skip("the openssl command is needed to make a test certificate")
    key, cert = tmp_path / "key.pem", tmp_path / "cert.pem"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", str(key), "-out", str(cert),
                    "-days", "1", "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1"],
                   check=True, capture_output=True)
    return cert, key


def test_starttls_against_a_local_server_with_a_self_signed_certificate(cli, db, week, tmp_path, monkeypatch):
    import ssl

    from aiosmtpd.controller import Controller

    from triage.paths import data_dir

    cert, key = _self_signed(tmp_path)
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(str(cert), str(key))
    handler = _Collect()
    controller = Controller(handler, hostname="127.0.0.1", port=_free_port(), tls_context=context,
                            require_starttls=True)
    controller.start()
    smtp = f"127.0.0.1:{controller.port}"
    try:
        # the certificate is not trusted: the send fails, the digest waits in the outbox
        res = cli("digest", "--to", "a@example.org", "--smtp", smtp, "--starttls")
        assert res.exit_code == 1 and "certificate" in res.output.lower() and "kept in" in res.output
        assert handler.messages == []
        # no STARTTLS against a server that requires it: refused too
        res = cli("digest", "--to", "a@example.org", "--smtp", smtp, "--no-starttls")
        assert res.exit_code == 1 and handler.messages == []
        # trusted (as a system CA would be): delivered over TLS
        monkeypatch.setenv("SSL_CERT_FILE", str(cert))
        res = cli("digest", "--to", "a@example.org", "--smtp", smtp, "--starttls")
        assert res.exit_code == 0, res.output
        assert len(handler.messages) == 1
        # and the outbox goes out the same way
        assert len(list((data_dir() / "outbox").glob("*.eml"))) == 2
        res = cli("outbox", "--resend", "--smtp", smtp, "--starttls")
        assert res.exit_code == 0, res.output
        assert len(handler.messages) == 3 and list((data_dir() / "outbox").glob("*.eml")) == []
    finally:
        controller.stop()
