"""Connectors talk to the outside world (trackers, analytics, files); they never import `app`."""
