"""Report sources: syzbot and lore clients, and local mail archives. Knows nothing of classification."""
