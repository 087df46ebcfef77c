"""Where syz-triage keeps its files: defined once in ``records.paths`` (the classifiers read it too)."""

from records.paths import APP, cache_dir, config_dir, config_file, data_dir, default_db

__all__ = ["APP", "cache_dir", "config_dir", "config_file", "data_dir", "default_db"]
