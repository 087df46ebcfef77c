"""Companion simulator of the kernel allocator, reclaim and writeback.

Imports nothing from triage/, scrapers/ or classifiers/.
"""
