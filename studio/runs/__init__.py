"""The Runs page: every run of the workspace, compared side by side."""
