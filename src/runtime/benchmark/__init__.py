"""`switchboard bench` and the scripts in bench/: the embedded stack, the bare baseline."""
