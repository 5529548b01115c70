"""factory_boy factories: a valid object in one line, relations by SubFactory."""
