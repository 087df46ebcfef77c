"""The corpus the project maintains: labels and the shipped model artifact."""
