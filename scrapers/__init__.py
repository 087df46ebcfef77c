"""Report sources: iterators of plain records (``records``), knowing nothing of the store or of ``triage``.

- ``archives``: files, e-mails, mbox (also .gz), maildirs -> ``ReportText`` / ``MailBytes`` / ``InputError``;
- ``public_inbox``: a public-inbox git mirror -> per-epoch ``Expect``, ``MailBytes`` and ``Checkpoint``;
- ``lore``: lore.kernel.org threads -> ``MailRecord``, ``ThreadHint``, ``Checkpoint``;
- ``syzbot`` (+ ``syzbot_pages``, its HTML reader): the dashboard -> ``Bug`` with its ``Crash``es and their
  report texts, ``BugUnchanged``, ``Checkpoint``;
- ``http``: the one polite HTTP client they share (user agent and cache dir given by the caller).

A source takes its configuration (base URL, HTTP client, cursor, what the caller has already stored) as
arguments and imports only ``records`` and ``scrapers.http``; ``triage.pipeline`` stores, parses, classifies
and threads what it yields.
"""
