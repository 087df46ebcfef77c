"""syz-triage: triage syzbot and kernel crash reports for Linux maintainers."""

__version__ = "0.1.0"
USER_AGENT = f"syz-triage/{__version__} (+https://github.com/syz-triage/syz-triage)"
