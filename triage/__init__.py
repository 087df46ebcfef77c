"""syz-triage: triage syzbot and kernel crash reports for Linux maintainers.

The data flows one way:

    sources (scrapers/: files, mail archives, public-inbox, lore, syzbot)  --plain records (records/)-->
    pipeline (triage/pipeline.py, wired by triage/sources.py)  -->  store (triage/store/: SQLite)
        each batch, in one transaction: store messages and reports, parse (triage/report/), classify
        (classifiers/, called by triage/classify_store.py), thread messages, link bugs and crashes, save cursors
    -->  act: inbox / show / review / digest / query / serve, and reproduce (triage/repro.py -> simulator/)

Sources know nothing of the store; the parser knows nothing of sources; ``triage`` wires them together.
"""

__version__ = "0.1.0"
USER_AGENT = f"syz-triage/{__version__} (+https://github.com/syz-triage/syz-triage)"
