"""The ``corebt`` command line."""
