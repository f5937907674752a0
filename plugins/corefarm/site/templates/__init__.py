"""HTML templates of the corefarm site (a package so they install as package data)."""
