"""The run folder's format, read and written without torch: the files a run holds and its checkpoint
listing (folder), its events (events), what it says about its run (runinfo), atomic TOML and JSON
writes (tomlio), and the lock that keeps two trainers off one run (lock)."""
