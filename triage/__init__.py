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


def _sqlite_utils_without_numpy() -> None:
    """sqlite-utils imports numpy and pandas, if installed, as its module loads, only to map their scalar types
    to column types; syz-triage never stores one. numpy is installed (scikit-learn trains the model) and its
    import is ~70 ms of every command that opens the store. This finder makes those two imports fail while
    ``sqlite_utils.db`` is loading (it catches the ImportError), then removes itself; numpy stays importable."""
    import sys

    class _Finder:                     # a meta path finder (importlib.abc costs 12 ms to import)
        def find_spec(self, name: str, path: object, target: object = None) -> None:
            loading = sys.modules.get("sqlite_utils.db")
            if loading is None or hasattr(loading, "Column"):      # defined just after its numpy import
                if loading is not None and self in sys.meta_path:
                    sys.meta_path.remove(self)
                return None
            if name in ("numpy", "pandas"):
                raise ModuleNotFoundError(f"{name} is not used through sqlite-utils", name=name)
            return None

    if "sqlite_utils" not in sys.modules:
        sys.meta_path.insert(0, _Finder())


_sqlite_utils_without_numpy()
