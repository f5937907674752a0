"""The corefarm web site."""
