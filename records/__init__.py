"""Plain records: the bottom of syz-triage's one-way flow, importing nothing from the project.

    sources (scrapers/)  --records-->  pipeline (triage/pipeline.py)  -->  store  -->  parse, classify, link

- ``records.mail``: the mail model (``Mail``, ``parse_bytes``, ``parse_date``, ``looks_like_mail``);
- ``records.stream``: what sources yield (``MailRecord``, ``MailBytes``, ``ReportText``, ``Bug`` with its ``Crash``es,
  ``BugUnchanged``, ``ThreadHint``, ``Checkpoint``, ``Expect``, ``InputError``) and ``SyncStopped``;
- ``records.inputs``: the one input size limit (``MAX_INPUT_BYTES``), the one ``InputError`` and
  ``read_input`` for local files;
- ``records.paths``: where syz-triage keeps its files (database, config, caches, the user's model).
"""

# The names are loaded on first use (PEP 562): ``records.paths`` (read by every command for the config and the
# database path) must not pull in the mail model (``email``, ``dateutil``: ~20 ms of each start-up).
_HOME = {"MAX_INPUT_BYTES": "records.inputs", "InputError": "records.inputs",
         **{name: "records.stream" for name in ("Bug", "BugState", "BugUnchanged", "Checkpoint", "Crash", "Expect",
                                                "MailBytes", "MailRecord", "Record", "ReportText", "SyncStopped",
                                                "ThreadHint")}}

__all__ = ["MAX_INPUT_BYTES", "Bug", "BugState", "BugUnchanged", "Checkpoint", "Crash", "Expect", "InputError",
           "MailBytes", "MailRecord", "Record", "ReportText", "SyncStopped", "ThreadHint"]


def __getattr__(name: str) -> object:
    if name not in _HOME:
        raise AttributeError(f"module 'records' has no attribute {name!r}")
    import importlib

    value = getattr(importlib.import_module(_HOME[name]), name)
    globals()[name] = value
    return value
