"""One module per producer; each class is one (type, version)."""
