"""Use cases shared by the CLI and the GUI: keyword-only functions with a progress callback."""
