"""Plain records: the bottom of syz-triage's one-way flow, importing nothing from the project.

    sources (scrapers/)  --records-->  pipeline (triage/pipeline.py)  -->  store  -->  parse, classify, link

- ``records.mail``: the mail model (``Mail``, ``parse_bytes``, ``parse_date``, ``looks_like_mail``);
- ``records.stream``: what sources yield (``MailRecord``, ``MailBytes``, ``ReportText``, ``Bug`` with its ``Crash``es,
  ``BugUnchanged``, ``ThreadHint``, ``Checkpoint``, ``Expect``, ``InputError``) and ``SyncStopped``;
- ``records.inputs``: the one input size limit (``MAX_INPUT_BYTES``), the one ``InputError`` and
  ``read_input`` for local files;
- ``records.paths``: where syz-triage keeps its files (database, config, caches, the user's model).
"""

from records.inputs import MAX_INPUT_BYTES, InputError
from records.stream import (
    Bug,
    BugState,
    BugUnchanged,
    Checkpoint,
    Crash,
    Expect,
    MailBytes,
    MailRecord,
    Record,
    ReportText,
    SyncStopped,
    ThreadHint,
)

__all__ = ["MAX_INPUT_BYTES", "Bug", "BugState", "BugUnchanged", "Checkpoint", "Crash", "Expect", "InputError",
           "MailBytes", "MailRecord", "Record", "ReportText", "SyncStopped", "ThreadHint"]
